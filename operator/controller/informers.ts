import { type KubernetesObject, type KubernetesListObject, type ObjectCache, makeInformer } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_GROUP, API_VERSION } from '../schema/common.js';
import { MANAGED_BY } from '../render/render.js';
import type { Kube } from './kube.js';

type List = KubernetesListObject<KubernetesObject>;

/** A watched resource type: where it lives in the API and how to list it (all namespaces or one). */
interface Watchable {
  name: string;
  path: (ns: string | null) => string;
  list: (kube: Kube, ns: string | null, labelSelector?: string) => Promise<List>;
  /** Only objects the operator manages (children), or every object (the custom resources). */
  managedOnly: boolean;
}

const crd = (plural: string): Watchable => ({
  name: plural,
  managedOnly: false,
  path: (ns) => `/apis/${API_GROUP}/${API_VERSION}${ns ? `/namespaces/${ns}` : ''}/${plural}`,
  list: (k, ns) => (ns
    ? k.custom.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: ns, plural })
    : k.custom.listCustomObjectForAllNamespaces({ group: API_GROUP, version: API_VERSION, plural })) as Promise<List>,
});

/** The child kinds the operator owns; a change to any of them requeues its owner. */
export const CHILD_KINDS: Watchable[] = [
  {
    name: 'statefulsets', managedOnly: true,
    path: (ns) => `/apis/apps/v1${ns ? `/namespaces/${ns}` : ''}/statefulsets`,
    list: (k, ns, labelSelector) => (ns ? k.apps.listNamespacedStatefulSet({ namespace: ns, labelSelector }) : k.apps.listStatefulSetForAllNamespaces({ labelSelector })) as Promise<List>,
  },
  {
    name: 'configmaps', managedOnly: true,
    path: (ns) => `/api/v1${ns ? `/namespaces/${ns}` : ''}/configmaps`,
    list: (k, ns, labelSelector) => (ns ? k.core.listNamespacedConfigMap({ namespace: ns, labelSelector }) : k.core.listConfigMapForAllNamespaces({ labelSelector })) as Promise<List>,
  },
  {
    name: 'services', managedOnly: true,
    path: (ns) => `/api/v1${ns ? `/namespaces/${ns}` : ''}/services`,
    list: (k, ns, labelSelector) => (ns ? k.core.listNamespacedService({ namespace: ns, labelSelector }) : k.core.listServiceForAllNamespaces({ labelSelector })) as Promise<List>,
  },
  {
    name: 'networkpolicies', managedOnly: true,
    path: (ns) => `/apis/networking.k8s.io/v1${ns ? `/namespaces/${ns}` : ''}/networkpolicies`,
    list: (k, ns, labelSelector) => (ns
      ? k.networking.listNamespacedNetworkPolicy({ namespace: ns, labelSelector })
      : k.networking.listNetworkPolicyForAllNamespaces({ labelSelector })) as Promise<List>,
  },
];

export const crdWatchable = crd;

/**
 * The testbeds' pods (made by their StatefulSets, labelled like them): their state says why a
 * member cannot run, and their IPs are where the operator reads members' metrics.
 */
export const PODS: Watchable = {
  name: 'pods', managedOnly: true,
  path: (ns) => `/api/v1${ns ? `/namespaces/${ns}` : ''}/pods`,
  list: (k, ns, labelSelector) => (ns ? k.core.listNamespacedPod({ namespace: ns, labelSelector }) : k.core.listPodForAllNamespaces({ labelSelector })) as Promise<List>,
};

/**
 * One informer per resource type and namespace (or one for all namespaces), restarted with
 * exponential backoff when its watch fails, feeding `onChange` with every added, updated or
 * deleted object. Its cache is what reconcilers read.
 */
export class InformerSet {
  private readonly caches = new Map<string, (ObjectCache<KubernetesObject> & { stop(): Promise<void> })[]>();
  private stopped = false;

  constructor(private readonly kube: Kube, private readonly namespaces: string[] | null, private readonly log: Logger) {}

  async watch(w: Watchable, onChange: (obj: KubernetesObject) => void): Promise<void> {
    const selector = w.managedOnly ? `app.kubernetes.io/managed-by=${MANAGED_BY}` : undefined;
    const scopes = this.namespaces ?? [null];
    const caches = [];
    for (const ns of scopes) {
      const informer = makeInformer(this.kube.kc, w.path(ns), () => w.list(this.kube, ns, selector), selector);
      for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, onChange);
      let failures = 0;
      informer.on('error', (err) => {
        if (this.stopped) return;
        failures++;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
        this.log.warn({ resource: w.name, namespace: ns, err: (err as Error)?.message, retryInMs: delay }, 'watch failed; restarting');
        setTimeout(() => {
          if (!this.stopped) informer.start().catch(() => {});
        }, delay);
      });
      informer.on('connect', () => (failures = 0));
      await informer.start();
      caches.push(informer);
    }
    this.caches.set(w.name, caches);
  }

  list(resource: string, namespace?: string): KubernetesObject[] {
    return (this.caches.get(resource) ?? []).flatMap((c) => c.list(namespace));
  }

  get(resource: string, name: string, namespace: string): KubernetesObject | undefined {
    for (const c of this.caches.get(resource) ?? []) {
      const o = c.get(name, namespace);
      if (o) return o;
    }
    return undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const list of this.caches.values()) for (const c of list) await c.stop();
  }
}
