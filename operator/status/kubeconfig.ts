import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ObserveError } from './errors.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The kubeconfig kubectl would use: the files in KUBECONFIG, else ~/.kube/config, else the pod's
 * service account. Unlike KubeConfig.loadFromDefault, which falls back to http://localhost:8080,
 * it says when there is none.
 */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  try {
    if (files.length > 0) {
      const missing = files.filter((f) => !existsSync(f));
      if (missing.length === files.length) throw new ObserveError(`no kubeconfig: KUBECONFIG names ${missing.join(', ')}, which does not exist`);
      kc.loadFromFile(files.find((f) => existsSync(f))!);
      for (const f of files.filter((x) => existsSync(x)).slice(1)) {
        const more = new KubeConfig();
        more.loadFromFile(f);
        kc.mergeConfig(more);
      }
    } else if (existsSync(home)) {
      kc.loadFromFile(home);
    } else if (existsSync(SERVICE_ACCOUNT_TOKEN)) {
      kc.loadFromCluster();
    } else {
      throw new ObserveError(`no kubeconfig: KUBECONFIG is not set, ${home} does not exist and this is not a pod with a service account`);
    }
  } catch (err) {
    if (err instanceof ObserveError) throw err;
    throw new ObserveError(`cannot load the kubeconfig: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) {
    throw new ObserveError(`the kubeconfig's current context ${JSON.stringify(kc.getCurrentContext())} names no cluster`);
  }
  return kc;
}

/** The current context's namespace, as `kubectl` defaults to it. */
export function contextNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
}
