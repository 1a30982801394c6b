import { KubeCluster } from './cluster.js';
import { ObserveError } from './errors.js';
import { contextNamespace, loadKubeConfig } from './kubeconfig.js';
import { status } from './status.js';

/** Exit code of `switchyard status` when it could not observe the testbed at all. */
export const EXIT_UNOBSERVABLE = 3;

/**
 * `switchyard status` as the CLI runs it: the kubeconfig's cluster and namespace, Ctrl-C ending
 * the window, and the result (--json) on stdout. Returns the exit code: 0 ok, 1 the testbed
 * failed a check, 3 it could not be observed (said on stderr, and with --json as
 * `{"ok": false, "error": …}` on stdout).
 */
export async function statusCommand(o: { name: string; namespace?: string; kind?: string; watch: boolean; durationSeconds?: number; json: boolean }): Promise<number> {
  let onInterrupt = () => {};
  const interrupted = new Promise<void>((resolve) => (onInterrupt = resolve));
  process.once('SIGINT', onInterrupt);
  try {
    const kc = loadKubeConfig();
    const { exitCode, result } = await status(new KubeCluster(kc), {
      ...o, namespace: o.namespace ?? contextNamespace(kc), interrupted, out: o.json ? process.stderr : process.stdout,
    });
    if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    return exitCode;
  } catch (err) {
    if (!(err instanceof ObserveError)) throw err;
    process.stderr.write(`switchyard: ${err.message}\n`);
    if (o.json) process.stdout.write(`${JSON.stringify({ ok: false, error: err.message })}\n`);
    return EXIT_UNOBSERVABLE;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}
