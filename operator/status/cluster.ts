import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../schema/common.js';

/** A GET answered by the API server: its status code and body. */
export interface ApiResponse {
  status: number;
  body: string;
}

/**
 * What `switchyard status` reads from a cluster. Errors keep @kubernetes/client-node's shape
 * (`code`: the HTTP status, or a network error's cause) for `describeApiError`.
 */
export interface Cluster {
  /** The API server's URL, for messages. */
  readonly server: string;
  getResource(plural: string, namespace: string, name: string): Promise<KubernetesObject>;
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  /** A GET of any API path (the pod proxy's), resolving whatever the status code. */
  get(path: string, timeoutMs: number): Promise<ApiResponse>;
}

/** Options (credentials, CA, agent) are rebuilt this often, so exec and OIDC tokens stay fresh. */
const AUTH_REFRESH_MS = 30_000;

/** The cluster of a kubeconfig: resources and pods through @kubernetes/client-node, proxy GETs over node:https with its credentials. */
export class KubeCluster implements Cluster {
  readonly server: string;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private auth: { opts: RequestOptions; at: number } | null = null;

  constructor(private readonly kc: KubeConfig) {
    this.server = kc.getCurrentCluster()!.server.replace(/\/+$/, '');
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  getResource(plural: string, namespace: string, name: string): Promise<KubernetesObject> {
    return this.custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, plural, namespace, name }) as Promise<KubernetesObject>;
  }

  async listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace, labelSelector })).items;
  }

  async get(path: string, timeoutMs: number): Promise<ApiResponse> {
    if (!this.auth || Date.now() - this.auth.at > AUTH_REFRESH_MS) {
      const opts: RequestOptions = { headers: { Accept: 'application/json' } };
      await this.kc.applyToHTTPSOptions(opts);
      this.auth = { opts, at: Date.now() };
    }
    const url = new URL(`${this.server}${path}`);
    const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = request(url, { ...this.auth!.opts, method: 'GET' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }
}
