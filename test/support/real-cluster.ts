import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A real single-node Kubernetes cluster on this machine (scripts/real-cluster/: kubelet, containerd,
 * CoreDNS, the image built from the project's Dockerfile), for the end-to-end suite. `start()` installs
 * what is missing (cached), builds the image, brings the cluster up; `stop()` tears it down and undoes
 * every host change, and also runs when the test process is interrupted.
 */
export interface RealCluster {
  kubeconfig: string;
  image: string;
  tools: string;
  kubectl(args: string[], input?: string): string;
  helm(args: string[]): string;
  stop(): void;
}

const scripts = 'scripts/real-cluster';
const clusterDir = process.env.SWITCHYARD_CLUSTER_DIR ?? '/var/tmp/switchyard-cluster';

/** Why a real cluster cannot run here, or null when it can (Linux, root, the kernel's bridge support). */
export function unavailable(): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (it runs a kubelet, containerd and iptables rules)';
  if (!existsSync('/proc/sys/net/ipv4/ip_forward')) return 'no IPv4 forwarding in this kernel';
  if (spawnSync('ip', ['-4', 'route', 'get', '1.1.1.1']).status !== 0) return 'no default IPv4 route to take the node address from';
  return null;
}

function sh(script: string, args: string[] = []): string {
  return execFileSync('bash', [join(scripts, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 }).toString();
}

export function startRealCluster(log: (line: string) => void): RealCluster {
  const started = Date.now();
  const step = (what: string) => log(`[cluster ${((Date.now() - started) / 1000).toFixed(0)}s] ${what}`);
  const tools = sh('install.sh').trim().split('\n').at(-1)!;
  step('tools installed');
  // A cluster left by an interrupted run is torn down first: its state is unknown.
  sh('down.sh', ['--purge']);
  sh('build-image.sh');
  step('image built from the Dockerfile');
  const stop = () => {
    process.off('exit', stop);
    spawnSync('bash', [join(scripts, 'down.sh'), '--purge'], { stdio: ['ignore', 'ignore', 'inherit'] });
  };
  process.on('exit', stop);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { stop(); process.exit(130); });
  try {
    sh('up.sh');
  } catch (e) {
    stop();
    throw e;
  }
  step('cluster up');
  // For scripts/run-tests.mjs: which test run owns this cluster (it tears down only its own).
  writeFileSync(join(clusterDir, 'run', 'test-run'), process.env.SWITCHYARD_TEST_RUN ?? '');
  const kubeconfig = join(clusterDir, 'etc/admin.kubeconfig');
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const run = (bin: string, args: string[], input?: string) => {
    const r = spawnSync(join(tools, bin), args, { env, input, maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
    return r.stdout.toString();
  };
  return {
    kubeconfig,
    image: 'localhost/switchyard/switchyard:dev',
    tools,
    kubectl: (args, input) => run('kubectl', args, input),
    helm: (args) => run('helm', args),
    stop,
  };
}

/** Polls `check` (every 500 ms) until it returns a value other than undefined; throws with `what` and the last error. */
export async function waitUntil<T>(what: string, seconds: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}${last ? `: ${(last as Error).message ?? last}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The logs a failing step should show: the operator's and the cluster components' last lines. */
export function clusterLogTail(lines = 30): string {
  const dir = join(clusterDir, 'logs');
  return ['kubelet', 'kube-scheduler', 'kube-controller-manager'].map((n) => {
    const f = join(dir, `${n}.log`);
    return existsSync(f) ? `--- ${n}\n${readFileSync(f, 'utf8').split('\n').slice(-lines).join('\n')}` : '';
  }).join('\n');
}
