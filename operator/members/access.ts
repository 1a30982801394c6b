import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** Where a member runs: its pod (and IP once it has one) in the testbed's namespace. */
export interface MemberAddress {
  namespace: string;
  /** The pod's name, `<resource>-<member>`. */
  pod: string;
  /** The pod's IP, if it has one yet. */
  ip: string | undefined;
  /** The testbed's headless Service. */
  service: string;
}

/**
 * How the operator talks HTTP to members (their `/metrics` and `/admin` on the metrics port):
 * directly (in-cluster: pod IPs, or any URL template), or through the API server's pod proxy
 * (out of cluster, where pod IPs are not routable).
 */
export interface MemberAccess {
  get(to: MemberAddress, path: string, timeoutMs: number): Promise<string>;
  post(to: MemberAddress, path: string, body: string, timeoutMs: number): Promise<string>;
}

/**
 * Direct HTTP to a URL built from `template`: `{ip}`, `{pod}`, `{service}`, `{namespace}` and
 * `{domain}` are filled in, e.g. `http://{ip}:9464`.
 */
export function urlAccess(template: string, clusterDomain: string): MemberAccess {
  const base = (to: MemberAddress) => {
    if (template.includes('{ip}') && !to.ip) throw new Error(`pod ${to.pod} has no IP yet`);
    return template.replaceAll('{ip}', to.ip ?? '').replaceAll('{pod}', to.pod).replaceAll('{service}', to.service)
      .replaceAll('{namespace}', to.namespace).replaceAll('{domain}', clusterDomain);
  };
  const call = async (to: MemberAddress, path: string, timeoutMs: number, init: RequestInit = {}) => {
    const res = await fetch(`${base(to)}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) }).catch((err: Error & { cause?: { code?: string } }) => {
      throw new Error(`${path}: ${err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.message)}`);
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path} answered ${res.status}: ${text.trim().slice(0, 200)}`);
    return text;
  };
  return {
    get: (to, path, timeoutMs) => call(to, path, timeoutMs),
    post: (to, path, body, timeoutMs) => call(to, path, timeoutMs, { method: 'POST', body }),
  };
}

/** Through the API server: `/api/v1/namespaces/NS/pods/POD:PORT/proxy/PATH` (needs `pods/proxy`). */
export function apiServerAccess(kc: KubeConfig, port: number): MemberAccess {
  const call = async (to: MemberAddress, path: string, timeoutMs: number, body?: string): Promise<string> => {
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig names no API server');
    const url = new URL(`${server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(to.namespace)}/pods/${encodeURIComponent(`${to.pod}:${port}`)}/proxy${path}`);
    const opts: https.RequestOptions = { method: body === undefined ? 'GET' : 'POST', timeout: timeoutMs, headers: {} };
    await kc.applyToHTTPSOptions(opts);
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'http:' ? http : https).request(url, opts, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => (res.statusCode === 200
          ? resolve(text)
          : reject(new Error(`${path} through the API server's pod proxy answered ${res.statusCode}: ${text.trim().slice(0, 200)}`))));
      });
      req.on('timeout', () => req.destroy(new Error(`${path} through the API server's pod proxy: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  };
  return {
    get: (to, path, timeoutMs) => call(to, path, timeoutMs),
    post: (to, path, body, timeoutMs) => call(to, path, timeoutMs, body),
  };
}
