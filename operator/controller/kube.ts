import {
  AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, KubernetesObjectApi, type KubernetesObject,
  NetworkingV1Api, PatchStrategy, setHeaderOptions,
} from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../schema/common.js';
import { FIELD_MANAGER } from '../render/render.js';

/** The API calls the operator makes, in one place: server-side apply with a fixed field manager. */
export class Kube {
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly networking: NetworkingV1Api;
  readonly custom: CustomObjectsApi;
  readonly coordination: CoordinationV1Api;

  constructor(readonly kc: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.networking = kc.makeApiClient(NetworkingV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
  }

  apply(obj: KubernetesObject): Promise<KubernetesObject> {
    return this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }

  delete(obj: KubernetesObject): Promise<unknown> {
    return this.objects.delete(obj, undefined, undefined, undefined, undefined, 'Background');
  }

  /** Writes status through the `/status` subresource only. */
  applyStatus(kind: string, plural: string, namespace: string, name: string, status: unknown): Promise<unknown> {
    return this.custom.patchNamespacedCustomObjectStatus(
      {
        group: API_GROUP, version: API_VERSION, namespace, plural, name, fieldManager: FIELD_MANAGER, force: true,
        body: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind, metadata: { name, namespace }, status },
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  /** A Kubernetes Event on the custom resource, for what a user should see in `kubectl describe`. */
  async event(owner: { kind: string; name: string; namespace: string; uid: string }, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date();
    await this.core.createNamespacedEvent({
      namespace: owner.namespace,
      body: {
        metadata: { generateName: `${owner.name}.`, namespace: owner.namespace },
        involvedObject: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: owner.kind, name: owner.name, namespace: owner.namespace, uid: owner.uid },
        type, reason, message: message.slice(0, 1000),
        source: { component: FIELD_MANAGER },
        firstTimestamp: now, lastTimestamp: now, count: 1,
      },
    });
  }
}

export const httpStatus = (err: unknown): number | undefined => (err as { code?: number }).code;
