import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ActiveTarget, type PrometheusApi, prometheusApi } from './prometheus.js';

/**
 * The Prometheus Operator and one Prometheus on the real single-node cluster (issue 17, point 8),
 * from the images scripts/prometheus-operator/install.sh builds (imported into the node's
 * containerd: there is no registry). The Prometheus selects every ServiceMonitor and PodMonitor in every namespace,
 * so it scrapes the chart's operator and every testbed the operator gives a PodMonitor.
 */

/** What this needs of a cluster: the suite's RealCluster and the envtest ControlPlane both fit. */
export interface Kubectl {
  kubectl(args: string[], input?: string): string;
}

/** What scripts/prometheus-operator/install.sh built (its prometheus-stack.json). */
export interface PrometheusStack {
  operatorVersion: string;
  prometheusVersion: string;
  /** The directory of the monitoring.coreos.com CRDs. */
  crds: string;
  images: Record<'operator' | 'configReloader' | 'prometheus', { name: string; archive: string }>;
}

export const MONITORING_NAMESPACE = 'monitoring';
/** The Prometheus resource; the operator names its pod `prometheus-NAME-0`. */
export const PROMETHEUS_NAME = 'switchyard';
const OPERATOR = 'prometheus-operator';
const PROMETHEUS_SA = 'prometheus';
const WEB_PORT = 9090;

/** Installs (cached after the first run) and describes the stack. */
export function prometheusStack(): PrometheusStack {
  const out = execFileSync('bash', ['scripts/prometheus-operator/install.sh'], { stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim();
  return JSON.parse(readFileSync(join(out.split('\n').at(-1)!, 'prometheus-stack.json'), 'utf8')) as PrometheusStack;
}

/** Pods run as nobody under the restricted Pod Security Standard, which their namespace enforces. */
const podSecurity = { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } };
const containerSecurity = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };

const clusterRole = (name: string, rules: object[]) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules });
const clusterRoleBinding = (name: string, serviceAccount: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
  subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: MONITORING_NAMESPACE }],
});
const serviceAccount = (name: string) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: MONITORING_NAMESPACE } });

/**
 * The operator: its namespace, RBAC (what it manages: its own resources, the Prometheus
 * StatefulSets with their Secrets, ConfigMaps and governing Service; what it watches: namespaces
 * and, for the monitors' selectors, pods) and Deployment, pointed at the local config-reloader image.
 */
export function operatorObjects(stack: PrometheusStack): object[] {
  const labels = { 'app.kubernetes.io/name': OPERATOR };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: MONITORING_NAMESPACE, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    serviceAccount(OPERATOR),
    clusterRole(`switchyard-${OPERATOR}`, [
      {
        apiGroups: ['monitoring.coreos.com'], verbs: ['*'],
        resources: ['alertmanagers', 'alertmanagers/finalizers', 'alertmanagers/status', 'alertmanagerconfigs', 'prometheuses', 'prometheuses/finalizers',
          'prometheuses/status', 'prometheusagents', 'prometheusagents/finalizers', 'prometheusagents/status', 'thanosrulers', 'thanosrulers/finalizers',
          'thanosrulers/status', 'scrapeconfigs', 'servicemonitors', 'servicemonitors/status', 'podmonitors', 'probes', 'prometheusrules'],
      },
      { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['*'] },
      { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['*'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'delete'] },
      { apiGroups: [''], resources: ['services', 'services/finalizers', 'endpoints'], verbs: ['get', 'create', 'update', 'delete'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['patch', 'create'] },
      { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get'] },
    ]),
    clusterRoleBinding(`switchyard-${OPERATOR}`, OPERATOR),
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: OPERATOR, namespace: MONITORING_NAMESPACE, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: OPERATOR,
            securityContext: podSecurity,
            containers: [{
              name: OPERATOR,
              image: stack.images.operator.name,
              imagePullPolicy: 'Never',
              args: [`--prometheus-config-reloader=${stack.images.configReloader.name}`],
              ports: [{ name: 'http', containerPort: 8080 }],
              resources: { requests: { cpu: '20m', memory: '64Mi' } },
              securityContext: containerSecurity,
              terminationMessagePolicy: 'FallbackToLogsOnError',
            }],
          },
        },
      },
    },
  ];
}

/**
 * The Prometheus: the version the image holds (the operator shapes flags and configuration by it),
 * every ServiceMonitor and PodMonitor in every namespace, a 5 s scrape interval, and RBAC for its
 * service account to discover pods, services and endpoints cluster-wide.
 */
export function prometheusObjects(stack: PrometheusStack): object[] {
  return [
    serviceAccount(PROMETHEUS_SA),
    clusterRole(`switchyard-${PROMETHEUS_SA}`, [
      { apiGroups: [''], resources: ['nodes', 'nodes/metrics', 'services', 'endpoints', 'pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ]),
    clusterRoleBinding(`switchyard-${PROMETHEUS_SA}`, PROMETHEUS_SA),
    {
      apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus', metadata: { name: PROMETHEUS_NAME, namespace: MONITORING_NAMESPACE },
      spec: {
        version: stack.prometheusVersion,
        image: stack.images.prometheus.name,
        imagePullPolicy: 'Never',
        replicas: 1,
        serviceAccountName: PROMETHEUS_SA,
        scrapeInterval: '5s',
        evaluationInterval: '5s',
        retention: '2h',
        serviceMonitorSelector: {},
        serviceMonitorNamespaceSelector: {},
        podMonitorSelector: {},
        podMonitorNamespaceSelector: {},
        securityContext: podSecurity,
        resources: { requests: { cpu: '50m', memory: '128Mi' } },
        containers: [configReloader],
      },
    },
  ];
}

/**
 * The operator's config-reloader sidecar, re-reading the configuration every 5 s. Its file watch
 * sees only the first update of the Secret volume (the kubelet swaps the volume's `..data` symlink,
 * so the watched file's inode goes away with its watch), after which it re-reads only every
 * --watch-interval (3 min by default): each testbed's PodMonitor then reached Prometheus up to
 * 3 minutes late, most of the suite's time. A `containers` entry of the operator's own name is
 * merged into the one it generates, and `args` replace its list whole, so these are its own
 * arguments (prometheus-operator v0.85.0, pkg/operator/config_reloader.go) plus the interval.
 */
const configReloader = {
  name: 'config-reloader',
  args: [
    '--listen-address=:8080',
    '--reload-url=http://localhost:9090/-/reload',
    '--config-file=/etc/prometheus/config/prometheus.yaml.gz',
    '--config-envsubst-file=/etc/prometheus/config_out/prometheus.env.yaml',
    `--watched-dir=/etc/prometheus/rules/prometheus-${PROMETHEUS_NAME}-rulefiles-0`,
    '--watch-interval=5s',
  ],
};

/**
 * The pods among `pods` (names in `namespace`) that have no target or whose last scrape failed,
 * each with why: empty when every one is up.
 */
export function notUp(targets: ActiveTarget[], namespace: string, pods: string[]): string[] {
  return pods.flatMap((pod) => {
    const mine = targets.filter((t) => t.labels.namespace === namespace && t.labels.pod === pod);
    if (mine.length === 0) return [`${namespace}/${pod}: no target`];
    return mine.filter((t) => t.health !== 'up').map((t) => `${namespace}/${pod}: ${t.scrapeUrl} ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`);
  });
}

/** What the cluster says about the monitoring namespace, for a step that timed out. */
function diagnose(cluster: Kubectl): string {
  const tryRun = (args: string[]) => {
    try {
      return cluster.kubectl(args);
    } catch (e) {
      return (e as Error).message;
    }
  };
  return [
    tryRun(['-n', MONITORING_NAMESPACE, 'get', 'pods,statefulsets,prometheus', '-o', 'wide']),
    tryRun(['-n', MONITORING_NAMESPACE, 'get', 'prometheus', PROMETHEUS_NAME, '-o', 'jsonpath={.status.conditions}']),
    tryRun(['-n', MONITORING_NAMESPACE, 'get', 'events', '--sort-by=.lastTimestamp']).split('\n').slice(-15).join('\n'),
    tryRun(['-n', MONITORING_NAMESPACE, 'logs', `deployment/${OPERATOR}`, '--tail=20']),
  ].join('\n');
}

/** Runs `kubectl args`; if it fails (a wait timing out), throws with `what` and the namespace's state. */
function step(cluster: Kubectl, what: string, args: string[]): string {
  try {
    return cluster.kubectl(args);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}\n${diagnose(cluster)}`);
  }
}

/**
 * Deploys the Prometheus Operator and Prometheus on the real cluster and waits until Prometheus is
 * Ready and answers: imports the three images into the node's containerd, applies the CRDs (before
 * anything that creates a ServiceMonitor or PodMonitor, e.g. the chart with monitoring on), rolls
 * out the operator, creates the Prometheus and waits for its Available condition (its pod Ready),
 * then checks the build it answers with. Returns its HTTP API (test/support/prometheus.ts).
 * `seconds` bounds each wait.
 */
export async function deployPrometheus(cluster: Kubectl, log: (line: string) => void, seconds = 300): Promise<PrometheusApi> {
  const started = Date.now();
  const progress = (what: string) => log(`[prometheus ${((Date.now() - started) / 1000).toFixed(0)}s] ${what}`);
  const stack = prometheusStack();
  progress(`operator ${stack.operatorVersion} and Prometheus ${stack.prometheusVersion} installed`);
  for (const { archive } of Object.values(stack.images)) {
    execFileSync('bash', ['-c', 'source scripts/real-cluster/lib.sh && ctrk8s images import "$1" >/dev/null', 'import', archive], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  progress('images imported into containerd');
  const crds = readdirSync(stack.crds).filter((f) => f.endsWith('.yaml'));
  cluster.kubectl(['apply', '--server-side', '--force-conflicts', ...crds.flatMap((f) => ['-f', join(stack.crds, f)])]);
  const crdNames = crds.map((f) => `crd/${f.replace(/^monitoring\.coreos\.com_(.*)\.yaml$/, '$1')}.monitoring.coreos.com`);
  step(cluster, 'the monitoring.coreos.com CRDs were not established', ['wait', '--for=condition=Established', `--timeout=${seconds}s`, ...crdNames]);
  progress(`${crds.length} CRDs established`);
  const apply = (objects: object[]) => cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  apply(operatorObjects(stack));
  step(cluster, 'the Prometheus Operator did not roll out', ['-n', MONITORING_NAMESPACE, 'rollout', 'status', `deployment/${OPERATOR}`, `--timeout=${seconds}s`]);
  progress('operator running');
  apply(prometheusObjects(stack));
  step(cluster, `Prometheus ${PROMETHEUS_NAME} did not become available`,
    ['-n', MONITORING_NAMESPACE, 'wait', '--for=condition=Available', `--timeout=${seconds}s`, `prometheus/${PROMETHEUS_NAME}`]);
  // At its pod's address (reachable from the node), not through `kubectl get --raw` and the API
  // server's proxy: kubectl drops the body of a JSON error, and with it why Prometheus refused a query.
  const ip = cluster.kubectl(['-n', MONITORING_NAMESPACE, 'get', 'pod', `prometheus-${PROMETHEUS_NAME}-0`, '-o', 'jsonpath={.status.podIP}']).trim();
  const api = prometheusApi(`http://${ip}:${WEB_PORT}`);
  const build = await api.get<{ version: string }>('status/buildinfo');
  if (!build.version.startsWith(stack.prometheusVersion.slice(1))) {
    throw new Error(`Prometheus at ${api.url} is ${build.version}, not the ${stack.prometheusVersion} its resource names`);
  }
  progress(`Prometheus ${build.version} ready at ${api.url}`);
  return api;
}
