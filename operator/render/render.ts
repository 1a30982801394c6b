import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { NodeDocument } from '../../node/config.js';
import type { Plan } from '../plan/types.js';
import { withoutLive } from '../plan/live.js';
import { API_GROUP, API_VERSION } from '../schema/common.js';

export const UDP_PORT = 7000;
export const METRICS_PORT = 9464;
export const FIELD_MANAGER = 'switchyard-operator';
export const MANAGED_BY = 'switchyard-operator';

export interface RenderOptions {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  clusterDomain: string;
  /** Render a PodMonitor (only when the Prometheus Operator's CRD is installed). */
  podMonitor: boolean;
}

export interface Owner {
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

export const testbedLabels = (owner: Owner) => ({
  'app.kubernetes.io/name': 'switchyard',
  'app.kubernetes.io/instance': owner.name,
  'app.kubernetes.io/managed-by': MANAGED_BY,
  'switchyard.dev/testbed': owner.name,
  'switchyard.dev/kind': owner.kind,
});

/** The node document as a cluster materializes it: members find each other by pod DNS name. */
export function clusterDocument(plan: Plan, owner: Owner, clusterDomain: string): NodeDocument {
  return {
    ...plan.document,
    addressing: { kind: 'dns', prefix: owner.name, domain: `${owner.name}.${owner.namespace}.svc.${clusterDomain}`, port: UDP_PORT },
    metrics: { kind: 'fixed', host: '0.0.0.0', port: METRICS_PORT },
    ...(plan.keys ? { keys: `${KEYS_DIR}/${KEYS_FILE}` } : {}),
  } as NodeDocument;
}

const KEYS_DIR = '/etc/switchyard/keys';
export const KEYS_FILE = 'keys.json';
export const keysSecretName = (owner: Owner) => `${owner.name}-keys`;

/**
 * The testbed's key Secret. Created once (keys generated then, never rewritten, never logged);
 * the reconciler creates it only when it does not exist.
 */
export function keySecret(plan: Plan, owner: Owner): KubernetesObject | null {
  if (!plan.keys) return null;
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: { name: keysSecretName(owner), namespace: owner.namespace, labels: testbedLabels(owner), ownerReferences: ownerReferences(owner) },
    stringData: { [KEYS_FILE]: JSON.stringify(plan.keys()) },
  } as KubernetesObject;
}

const ownerReferences = (owner: Owner) => [{
  apiVersion: `${API_GROUP}/${API_VERSION}`, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true,
}];

/**
 * Renders a plan into the Kubernetes objects of one testbed: topology ConfigMap, headless
 * Service, one StatefulSet per workload, a NetworkPolicy keeping its traffic inside it, and a
 * PodMonitor when asked. Every object is owned by the custom resource, so deleting it deletes
 * them. Pods are non-root with a read-only root filesystem, no capabilities and the runtime's
 * default seccomp profile. The pod template carries a checksum of the document without its
 * live fields: a live change (e.g. more sequencers) goes through the protocol, not a restart.
 */
export function render(plan: Plan, owner: Owner, opts: RenderOptions): KubernetesObject[] {
  const labels = testbedLabels(owner);
  const meta = (name: string, extra: Record<string, string> = {}) => ({
    name, namespace: owner.namespace, labels: { ...labels, ...extra }, ownerReferences: ownerReferences(owner),
  });
  const doc = clusterDocument(plan, owner, opts.clusterDomain);
  const checksum = createHash('sha256').update(JSON.stringify(withoutLive(doc, plan.liveFields))).digest('hex').slice(0, 16);
  const topology = `${owner.name}-topology`;
  const objects: KubernetesObject[] = [
    {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(topology),
      data: { 'node-config.json': `${JSON.stringify(doc, null, 2)}\n` },
    } as KubernetesObject,
    {
      apiVersion: 'v1', kind: 'Service', metadata: meta(owner.name),
      spec: {
        clusterIP: 'None',
        // Members resolve each other before they are ready (the protocol needs them to talk first).
        publishNotReadyAddresses: true,
        selector: { 'switchyard.dev/testbed': owner.name },
        ports: [
          { name: 'protocol', port: UDP_PORT, protocol: 'UDP', targetPort: UDP_PORT },
          { name: 'metrics', port: METRICS_PORT, protocol: 'TCP', targetPort: METRICS_PORT },
        ],
      },
    } as KubernetesObject,
  ];
  for (const w of plan.workloads) {
    const podLabels = { ...labels, 'switchyard.dev/workload': w.name };
    objects.push({
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta(`${owner.name}-${w.name}`, { 'switchyard.dev/workload': w.name }),
      spec: {
        replicas: w.replicas,
        serviceName: owner.name,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { 'switchyard.dev/testbed': owner.name, 'switchyard.dev/workload': w.name } },
        template: {
          metadata: { labels: podLabels, annotations: { 'switchyard.dev/topology-checksum': checksum } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 10,
            securityContext: {
              runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [{
              name: 'member',
              image: opts.image,
              imagePullPolicy: opts.imagePullPolicy,
              args: ['node', '--config', '/etc/switchyard/topology/node-config.json', '--role', w.name],
              ports: [
                { name: 'protocol', containerPort: UDP_PORT, protocol: 'UDP' },
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
              ],
              // A crashing member's last log lines become its termination message, which the
              // operator puts in the testbed's Ready condition.
              terminationMessagePolicy: 'FallbackToLogsOnError',
              // A member starting on a busy node can take tens of seconds (every pod of a testbed starts at
              // once, each loading Node.js): the startup probe gives it 3 minutes before liveness applies,
              // and a slow answer under load is not taken for a dead member.
              startupProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 2, failureThreshold: 90, timeoutSeconds: 5 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 2, failureThreshold: 3, timeoutSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 },
              resources: plan.resources,
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'topology', mountPath: '/etc/switchyard/topology', readOnly: true },
                ...(plan.keys ? [{ name: 'keys', mountPath: KEYS_DIR, readOnly: true }] : []),
              ],
            }],
            volumes: [
              { name: 'topology', configMap: { name: topology } },
              ...(plan.keys ? [{ name: 'keys', secret: { secretName: keysSecretName(owner), defaultMode: 0o440 } }] : []),
            ],
          },
        },
      },
    } as KubernetesObject);
  }
  const same = { podSelector: { matchLabels: { 'switchyard.dev/testbed': owner.name } } };
  objects.push({
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(`${owner.name}-isolation`),
    spec: {
      podSelector: { matchLabels: { 'switchyard.dev/testbed': owner.name } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        { from: [same] },
        // Prometheus and the operator read metrics and send admin commands from outside the testbed.
        { ports: [{ protocol: 'TCP', port: METRICS_PORT }] },
      ],
      egress: [
        { to: [same] },
        { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
      ],
    },
  } as KubernetesObject);
  if (opts.podMonitor) {
    objects.push({
      apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: meta(owner.name),
      spec: {
        selector: { matchLabels: { 'switchyard.dev/testbed': owner.name } },
        podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '5s' }],
      },
    } as KubernetesObject);
  }
  return objects;
}
