import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { spawnSync } from 'node:child_process';
import { CAPYBARA_METRICS } from '../node/capybara/metrics.js';
import { HYDRA_METRICS } from '../node/hydra/metrics.js';
import { HYDRAPAXOS_METRICS } from '../node/hydrapaxos/metrics.js';
import { BFT_METRICS } from '../node/neobft/metrics.js';
import { CLIENT_METRICS } from '../node/runtime/metrics.js';
import { Snapshot } from '../operator/report/scrape.js';
import { bftQueriesOf, checkDashboard } from './support/dashboards.js';
import type { PrometheusApi } from './support/prometheus.js';
import { deployPrometheus, notUp } from './support/prometheus-operator.js';
import { type RealCluster, clusterLogTail, startRealCluster, unavailable, waitUntil } from './support/real-cluster.js';

/**
 * End to end on a real single-node cluster (scripts/real-cluster/): the image built from the
 * Dockerfile, the chart installed by the real helm, pods run by a kubelet. What only real pods show:
 * members start from the rendered StatefulSets, find each other through cluster DNS and make the
 * protocol progress, read from their own metrics through the API server's pod proxy.
 */
const why = unavailable();
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Example {
  file: string;
  /** The example as applied: the file, or the file with another `spec.protocol` (`protocol`). */
  title: string;
  doc: { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
  kind: string;
  name: string;
  /** Runs the example with this `spec.protocol` instead (a baseline), named `<name>-<protocol>`. */
  protocol?: string;
  /** The member-name prefix and metric (with labels) whose growth shows the protocol working. */
  progress: { member: string; metric: string; labels?: Record<string, string>; what: string };
  /** Whether clients record histories that `switchyard status` checks for linearizability. */
  histories: boolean;
  /** The dashboard that shows this kind, and which of its queries apply to this example. */
  dashboard: { file: string; shows: (expr: string) => boolean };
  /** Per-member metrics a failure message shows (where each replica stands), by label. */
  state?: Record<string, string>;
  /** Roles whose members' last log lines a failure message shows (their view changes, state transfers). */
  logs?: string[];
}

/** An example as listed: what is derived from its file is added below. */
type ExampleFile = Omit<Example, 'title' | 'doc' | 'kind' | 'name'>;

const everything = () => true;
const hydra = { file: 'hydra.json', shows: (e: string) => !/hydrapaxos|hydratxn/.test(e) };
const bft = { file: 'bft.json', shows: bftQueriesOf('aom|neobft') };
const bftState = {
  epoch: BFT_METRICS.epoch, leader: BFT_METRICS.leader, 'sync point': BFT_METRICS.syncPoint, executed: BFT_METRICS.executed,
  'view changes': BFT_METRICS.viewChanges, 'state transfers': BFT_METRICS.stateTransfers, 'AOM sequencer epoch': BFT_METRICS.aomSequencerEpoch,
};

const bftLogs = ['replica', 'sequencer'];

/** bftcluster.yaml run with a baseline protocol: its own panels and the clients', and where each of its replicas stands. */
function bftBaseline(protocol: 'hotstuff' | 'zyzzyva'): ExampleFile {
  const m = BFT_METRICS[protocol];
  return {
    file: 'bftcluster.yaml', protocol, histories: true, dashboard: { file: 'bft.json', shows: bftQueriesOf(protocol) }, logs: ['replica'],
    state: { view: m.view, executed: m.executed, 'view changes': m.viewChanges, 'state transfers': m.stateTransfers },
    progress: { member: 'client', metric: CLIENT_METRICS.requests, labels: { result: 'committed' }, what: 'operations committed' },
  };
}

const hydraState = {
  configuration: HYDRA_METRICS.configuration, 'sequencer active': HYDRA_METRICS.sequencerActive, stamped: HYDRA_METRICS.stamped,
  delivered: HYDRA_METRICS.delivered, pending: HYDRA_METRICS.pending, 'drop notifications': HYDRA_METRICS.dropNotifications,
  view: HYDRAPAXOS_METRICS.view, executed: HYDRAPAXOS_METRICS.executed, 'view changes': HYDRAPAXOS_METRICS.viewChanges,
  'state transfers': HYDRAPAXOS_METRICS.stateTransfers, 'config view': HYDRA_METRICS.configView, 'config commit': HYDRA_METRICS.configCommit,
  'client requests': CLIENT_METRICS.requests,
};

const listed: ExampleFile[] = [
  { file: 'sequencergroup.yaml', histories: false, dashboard: hydra, progress: { member: 'receiver', metric: HYDRA_METRICS.delivered, what: 'messages delivered in order' } },
  { file: 'hydrapaxos.yaml', histories: true, state: hydraState, dashboard: { file: 'hydra.json', shows: (e: string) => !/hydratxn/.test(e) }, progress: { member: 'client', metric: CLIENT_METRICS.requests, labels: { result: 'committed' }, what: 'operations committed' } },
  { file: 'hydratxn.yaml', histories: true, state: hydraState, dashboard: { file: 'hydra.json', shows: (e: string) => !/hydrapaxos/.test(e) }, progress: { member: 'client', metric: CLIENT_METRICS.requests, labels: { result: 'committed' }, what: 'transactions committed' } },
  { file: 'bftcluster.yaml', histories: true, dashboard: bft, state: bftState, logs: bftLogs, progress: { member: 'client', metric: CLIENT_METRICS.requests, labels: { result: 'committed' }, what: 'operations committed' } },
  // The baselines a BFTCluster also runs, on the same pods and operator.
  bftBaseline('hotstuff'),
  bftBaseline('zyzzyva'),
  { file: 'bftcluster-faults.yaml', histories: true, dashboard: bft, state: bftState, logs: bftLogs, progress: { member: 'client', metric: CLIENT_METRICS.requests, labels: { result: 'committed' }, what: 'operations committed' } },
  { file: 'migratingservice.yaml', histories: false, dashboard: { file: 'capybara.json', shows: everything }, progress: { member: 'switch', metric: CAPYBARA_METRICS.serverRequests, what: 'requests served (counted per server by the switch)' } },
];

const examples: Example[] = listed.map((e) => {
  const doc = parse(readFileSync(`examples/${e.file}`, 'utf8')) as Example['doc'];
  if (e.protocol) {
    doc.spec.protocol = e.protocol;
    doc.metadata.name = `${doc.metadata.name}-${e.protocol}`;
  }
  return { ...e, doc, title: e.protocol ? `${e.file} with protocol ${e.protocol}` : e.file, kind: doc.kind, name: doc.metadata.name };
});

describe('real cluster: every example on real pods', { skip: why ? `real cluster not possible here: ${why}` : false }, () => {
  let cluster: RealCluster;
  let prom: PrometheusApi;
  /** Every dashboard query that has had data from some testbed on the cluster. */
  const shown = new Set<string>();
  const operatorNs = 'switchyard-system';

  /** Every member's metrics at one instant, through the API server's pod proxy. */
  function scrape(ns: string, name: string): Snapshot {
    const pods = JSON.parse(cluster.kubectl(['-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json'])) as { items: { metadata: { name: string } }[] };
    const byMember = new Map();
    for (const p of pods.items) {
      const member = p.metadata.name.slice(name.length + 1);
      try {
        byMember.set(member, JSON.parse(cluster.kubectl(['get', '--raw', `/api/v1/namespaces/${ns}/pods/${p.metadata.name}:9464/proxy/metrics.json`])));
      } catch {
        // a member not answering yet is left out of this scrape
      }
    }
    return new Snapshot(Date.now(), byMember);
  }

  /** Where each member stands (the example's `state` metrics), for a failure message: one line per member. */
  function standing(ns: string, ex: Example): string {
    if (!ex.state) return '';
    const snap = scrape(ns, ex.name);
    const byMember = new Map<string, string[]>();
    for (const [label, metric] of Object.entries(ex.state)) {
      for (const [member, v] of snap.perMember(metric)) byMember.set(member, [...byMember.get(member) ?? [], `${label} ${v}`]);
    }
    return [...byMember].sort().map(([member, parts]) => `\n  ${member}: ${parts.join(', ')}`).join('');
  }

  /** The last log lines (time and message) of every member of the example's `logs` roles, for a failure message; one unreadable (a pod being replaced) is said and the others still shown. */
  function lastLogLines(ns: string, ex: Example): string {
    const pods = JSON.parse(cluster.kubectl(['-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/instance=${ex.name}`, '-o', 'json'])) as { items: { metadata: { name: string } }[] };
    const members = pods.items.map((p) => p.metadata.name.slice(ex.name.length + 1)).filter((m) => ex.logs?.some((role) => m.startsWith(`${role}-`))).sort();
    return members.map((member) => {
      let lines: string[];
      try {
        lines = cluster.kubectl(['-n', ns, 'logs', `${ex.name}-${member}`, '--tail=15']).trim().split('\n').map((l) => {
          try {
            const j = JSON.parse(l) as { time: number; msg: string };
            return `${new Date(j.time).toISOString().slice(11, 23)} ${j.msg}`;
          } catch {
            return l;
          }
        });
      } catch (e) {
        lines = [`(not read: ${(e as Error).message.split('\n')[0]})`];
      }
      return `\n  ${member} log:${lines.map((l) => `\n    ${l}`).join('')}`;
    }).join('');
  }

  /** `what`, or its error with where each member stands appended. */
  async function explained<T>(ns: string, ex: Example, what: Promise<T>): Promise<T> {
    try {
      return await what;
    } catch (e) {
      // The scrape for the message must not hide the failure it explains.
      let where: string;
      try {
        where = standing(ns, ex);
      } catch (s) {
        where = `\n  (members not scraped: ${(s as Error).message})`;
      }
      try {
        where += lastLogLines(ns, ex);
      } catch (l) {
        where += `\n  (logs not read: ${(l as Error).message})`;
      }
      throw new Error(`${(e as Error).message}${where}`);
    }
  }

  function resource(ns: string, kind: string, name: string): { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } } {
    return JSON.parse(cluster.kubectl(['-n', ns, 'get', kind.toLowerCase(), name, '-o', 'json']));
  }

  function condition(ns: string, kind: string, name: string, type: string) {
    return resource(ns, kind, name).status?.conditions?.find((c) => c.type === type);
  }

  /** Ordinal 0 of every StatefulSet of a testbed: one pod per role. */
  /** `switchyard status NAME -n NS --json` over a short window: its JSON result. */
  function statusOf(ns: string, name: string): Record<string, unknown> & { ok?: boolean; failures?: string[]; error?: string; linearizable?: boolean; committed?: number; history_file?: string } {
    const r = spawnSync(process.execPath, ['dist/cli/switchyard.js', 'status', name, '-n', ns, '--duration', '8', '--json'], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfig }, maxBuffer: 256 << 20, timeout: 180_000,
    });
    const line = r.stdout.toString().trim().split('\n').at(-1) ?? '';
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(`switchyard status ${name} printed no JSON (exit ${r.status}):\n${r.stderr}`);
    }
  }

  function firstPodOfEachWorkload(ns: string, name: string): string[] {
    const sets = JSON.parse(cluster.kubectl(['-n', ns, 'get', 'statefulsets', '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json'])) as { items: { metadata: { name: string } }[] };
    return sets.items.map((s) => `${s.metadata.name}-0`).sort();
  }

  function podUid(ns: string, pod: string): string {
    return JSON.parse(cluster.kubectl(['-n', ns, 'get', 'pod', pod, '-o', 'json'])).metadata.uid;
  }

  function testbedNamespace(ns: string): void {
    // Every testbed pod must pass the restricted Pod Security Standard.
    cluster.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    }));
  }

  /** The example's resource with `change` applied to its spec, applied in `ns` (a fresh restricted namespace). */
  function applyChanged(ns: string, file: string, change: (spec: Record<string, unknown>) => void): { kind: string; name: string } {
    testbedNamespace(ns);
    const doc = parse(readFileSync(`examples/${file}`, 'utf8'));
    change(doc.spec);
    cluster.kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify(doc));
    return { kind: doc.kind, name: doc.metadata.name };
  }

  /**
   * Status a user can act on: waits until Ready is False with `reason` and a message that names a
   * member pod and says `says`, and a Warning Event of the resource says the same.
   */
  async function reportsProblem(ns: string, kind: string, name: string, reason: string, says: RegExp): Promise<void> {
    const named = new RegExp(`${name}-\\w+-\\d+`);
    const ready = await waitUntil(`${kind} ${name} Ready=False ${reason}`, 240, () => {
      const c = condition(ns, kind, name, 'Ready');
      return c?.status === 'False' && c.reason === reason && says.test(c.message) && named.test(c.message) ? c : undefined;
    });
    log(`${ns}: Ready=False ${ready.reason}: ${ready.message}`);
    await waitUntil(`a Warning Event ${reason}`, 120, () => {
      const events = JSON.parse(cluster.kubectl(['-n', ns, 'get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'json'])).items as { type: string; reason: string; message: string }[];
      return events.some((e) => e.type === 'Warning' && e.reason === reason && says.test(e.message)) || undefined;
    });
  }

  before(() => {
    cluster = startRealCluster(log);
  });

  after(() => cluster?.stop());

  test('the Prometheus Operator and Prometheus run on the cluster', async () => {
    prom = await deployPrometheus(cluster, log);
  });

  test('the chart installs the operator with the real helm: two replicas, one leader', async () => {
    cluster.kubectl(['apply', '--server-side', '-f', 'crds/']);
    cluster.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
    const [repository, tag] = cluster.image.split(':');
    cluster.helm(['install', 'switchyard', 'charts/switchyard', '-n', operatorNs, '--create-namespace', '--wait', '--timeout', '180s',
      '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`, '--set', 'image.pullPolicy=Never',
      '--set', 'monitoring.serviceMonitor.enabled=true', '--set', 'monitoring.serviceMonitor.interval=5s', '--set', 'monitoring.podMonitors.enabled=true']);
    const deploy = JSON.parse(cluster.kubectl(['-n', operatorNs, 'get', 'deployment', 'switchyard', '-o', 'json']));
    assert.equal(deploy.status.readyReplicas, 2, 'both operator replicas Ready');
    const holder = await waitUntil('an operator to hold the lease', 120, () => {
      const lease = JSON.parse(cluster.kubectl(['-n', operatorNs, 'get', 'lease', 'switchyard', '-o', 'json']));
      return lease.spec.holderIdentity || undefined;
    });
    log(`leader: ${holder}`);
    // The image the Dockerfile built: production dependencies only, run as its non-root user.
    const inPod = (code: string) => cluster.kubectl(['-n', operatorNs, 'exec', 'deploy/switchyard', '--', 'node', '-e', code]).trim();
    assert.equal(inPod("try { require.resolve('typescript'); console.log('dev') } catch { console.log('prod') }"), 'prod');
    assert.equal(inPod('console.log(process.getuid())'), '10001');
  });

  for (const ex of examples) {
    describe(ex.title, () => {
      const ns = `sy-${ex.name}`;
      // A failed example's testbed goes too: the next one must not share the node with it.
      after(() => cluster.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']));

      /** `switchyard status` must pass: members Ready and answering, progress, histories linearizable. */
      const verdict = (when: string) => explained(ns, ex, waitUntil(`switchyard status ok ${when}`, 120, () => {
        const r = statusOf(ns, ex.name);
        if (r.ok !== true) throw new Error(`not ok: ${JSON.stringify(r.failures ?? r.error)} (history ${r.history_file})`);
        if (ex.histories && r.linearizable !== true) throw new Error(`histories not linearizable (${r.history_file})`);
        log(`${ex.title}: status ok ${when}${ex.histories ? `, linearizable over ${r.committed} operations` : ''}`);
        return r;
      }));

      test(`all pods Ready, ${ex.progress.what}, the same verdict as switchyard up`, async () => {
        testbedNamespace(ns);
        cluster.kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify(ex.doc));
        const started = Date.now();
        try {
          await waitUntil(`${ex.kind} ${ex.name} Ready`, 240, () => condition(ns, ex.kind, ex.name, 'Ready')?.status === 'True' || undefined);
        } catch (e) {
          throw new Error(`${(e as Error).message}\n${cluster.kubectl(['-n', ns, 'get', 'pods', '-o', 'wide'])}\n${JSON.stringify(resource(ns, ex.kind, ex.name).status, null, 1)}\n${clusterLogTail()}`);
        }
        log(`${ex.title}: Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const { member, metric, labels } = ex.progress;
        const first = await explained(ns, ex, waitUntil(`${ex.progress.what} (${metric})`, 120, () => {
          const v = scrape(ns, ex.name).sum(metric, labels, member);
          return v > 0 ? v : undefined;
        }));
        log(`${ex.title}: ${metric} ${first} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
        // The verdict `switchyard up` gives locally, on the cluster: members scraped through the API
        // server, clients' histories checked for linearizability.
        await verdict('while running');
      });

      // Where histories are checked, the clients' pods go last, after the verdict: a deleted client's
      // history goes with its pod, and checking the whole run with that incarnation's operations unknown
      // (lost-histories.ts) makes the linearizability search explode on histories this long (it ran past
      // 3 minutes). What a restarted client must show here is that it completes requests again (its
      // request ids never repeat an earlier incarnation's); its histories are checked in simulation and by
      // `switchyard up` (up-restart.test.ts).
      const client = `${ex.name}-client-0`;
      const deleteAndAwait = async (pod: string) => {
        const uid = podUid(ns, pod);
        cluster.kubectl(['-n', ns, 'delete', 'pod', pod, '--wait=false']);
        await waitUntil(`${pod} replaced and Ready`, 240, () => {
          const p = JSON.parse(cluster.kubectl(['-n', ns, 'get', 'pod', pod, '-o', 'json', '--ignore-not-found']) || 'null');
          return p && p.metadata.uid !== uid && p.status.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
        });
        log(`${ex.title}: ${pod} restarted`);
      };
      test(`one pod of every role deleted in turn: the protocol goes on${ex.histories ? ' (histories linearizable), and a restarted client completes requests again' : ''}`, async () => {
        const pods = firstPodOfEachWorkload(ns, ex.name);
        for (const pod of pods.filter((p) => !(ex.histories && p === client))) await deleteAndAwait(pod);
        await verdict('after every role restarted');
        if (!ex.histories) return;
        await deleteAndAwait(client);
        const { metric, labels } = ex.progress;
        // The new pod's counters start at zero: any committed request is the new incarnation's.
        const done = await explained(ns, ex, waitUntil(`${client} (restarted) completing requests`, 120, () => {
          const v = scrape(ns, ex.name).sum(metric, labels, 'client-0');
          return v > 0 ? v : undefined;
        }));
        log(`${ex.title}: ${client} restarted and completed ${done} requests`);
      });

      // After the restarts, so the panels are checked on a testbed whose members were replaced (their
      // series start anew) and which went through the events restarts cause (view changes, state transfers).
      test(`Prometheus scrapes every member through the PodMonitor; every ${ex.dashboard.file} query for it has data`, async () => {
        const pods = (ns2: string, selector: string) => (JSON.parse(cluster.kubectl(['-n', ns2, 'get', 'pods', '-l', selector, '-o', 'json'])).items as { metadata: { name: string } }[]).map((p) => p.metadata.name);
        const members = pods(ns, `app.kubernetes.io/instance=${ex.name}`);
        const operators = pods(operatorNs, 'app.kubernetes.io/name=switchyard');
        const started = Date.now();
        await waitUntil('every member and operator pod scraped (up == 1)', 180, async () => {
          const missing = [...notUp(await prom.targets(), ns, members), ...notUp(await prom.targets(), operatorNs, operators)];
          if (missing.length > 0) throw new Error(missing.join('; '));
          return true;
        });
        log(`${ex.title}: every pod scraped after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        await checkDashboard(prom, ex.dashboard.file, ex.name, ex.dashboard.shows, { scrapeMs: 5000, shown, log });
      });

      test('deleting the resource removes every pod and child', async () => {
        cluster.kubectl(['-n', ns, 'delete', ex.kind.toLowerCase(), ex.name, '--wait=true', '--timeout=120s']);
        await waitUntil(`every pod of ${ex.name} gone`, 180, () =>
          cluster.kubectl(['-n', ns, 'get', 'pods,statefulsets,services,configmaps,secrets,networkpolicies', '-l', `app.kubernetes.io/instance=${ex.name}`, '-o', 'name']).trim() === '' || undefined);
      });
    });
  }

  test('a testbed whose pods cannot be scheduled says so: Ready=False MembersUnschedulable with the pods and the scheduler\'s reason, and a Warning Event', async (t) => {
    const ns = 'sy-unschedulable';
    t.after(() => cluster.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']));
    const { kind, name } = applyChanged(ns, 'sequencergroup.yaml', (spec) => {
      spec.resources = { requests: { cpu: '64' } };
    });
    await reportsProblem(ns, kind, name, 'MembersUnschedulable', /Unschedulable.*Insufficient cpu/);
  });

  test('the operator dashboard: every query has data from the operators on the cluster', async () => {
    await checkDashboard(prom, 'operator.json', null, everything, { scrapeMs: 5000, shown });
  });

  test('live changes and operator failover with real pods: spec.sequencers through Hydra, the leading operator killed', async (t) => {
    const ns = 'sy-live';
    const name = 'demo';
    testbedNamespace(ns);
    t.after(() => cluster.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']));
    cluster.kubectl(['-n', ns, 'apply', '-f', 'examples/sequencergroup.yaml']);
    await waitUntil('SequencerGroup Ready', 240, () => condition(ns, 'SequencerGroup', name, 'Ready')?.status === 'True' || undefined);
    const status = () => resource(ns, 'SequencerGroup', name).status as { configuration?: number; activeSequencers?: number };
    const patchSequencers = (n: number) => cluster.kubectl(['-n', ns, 'patch', 'sequencergroup', name, '--type=merge', '-p', JSON.stringify({ spec: { sequencers: n } })]);
    const stamped = (member: string) => scrape(ns, name).sum(HYDRA_METRICS.stamped, {}, member);
    const delivered = () => scrape(ns, name).sum(HYDRA_METRICS.delivered, {}, 'receiver');
    // A wait that times out says where the reconfiguration stood: the status, and what the
    // configuration replicas and a receiver last logged (changes made, sequencers suspected).
    const waitLive = async <T>(what: string, seconds: number, probe: () => T | undefined): Promise<T> => {
      try {
        return await waitUntil(what, seconds, probe);
      } catch (e) {
        const logs = ['config-0', 'config-1', 'config-2', 'receiver-g0-0'].map((m) => {
          try {
            return `${name}-${m}:\n${cluster.kubectl(['-n', ns, 'logs', `${name}-${m}`, '--tail=25'])}`;
          } catch (l) {
            return `${name}-${m}: ${(l as Error).message}`;
          }
        });
        throw new Error(`${(e as Error).message}\nstatus: ${JSON.stringify(resource(ns, 'SequencerGroup', name).status)}\n${logs.join('\n')}`);
      }
    };

    // Addition: a fourth sequencer pod starts and the configuration service adds it.
    const before = await waitLive('a configuration with all 3 sequencers', 120, () => (status().activeSequencers === 3 ? status().configuration : undefined));
    patchSequencers(4);
    const added = await waitLive('configuration with 4 active sequencers', 180, () => {
      const s = status();
      return s.activeSequencers === 4 && (s.configuration ?? 0) > (before ?? 0) ? s.configuration : undefined;
    });
    await waitLive('sequencer-3 stamping', 120, () => (stamped('sequencer-3') > 0 ? true : undefined));
    log(`live: configuration ${before} → ${added} with sequencer-3 stamping`);

    // Removal: two sequencers leave through Hydra's removal protocol, then their pods go.
    patchSequencers(2);
    const removed = await waitLive('configuration with 2 active sequencers', 180, () => (status().activeSequencers === 2 ? status().configuration : undefined));
    await waitUntil('sequencer-2 and sequencer-3 pods gone', 180, () =>
      cluster.kubectl(['-n', ns, 'get', 'pods', '-o', 'name']).split('\n').some((p) => /sequencer-[23]$/.test(p)) ? undefined : true);
    const d0 = delivered();
    await waitLive('delivery going on with 2 sequencers', 120, () => (delivered() > d0 ? true : undefined));
    log(`live: configuration ${removed} with 2 sequencers, delivery going on`);

    // Operator failover: the lease passes to the other replica; the testbed's pods are untouched.
    const pods = () => JSON.parse(cluster.kubectl(['-n', ns, 'get', 'pods', '-o', 'json'])).items.map((p: { metadata: { uid: string }; status: { containerStatuses?: { restartCount: number }[] } }) =>
      `${p.metadata.uid}/${p.status.containerStatuses?.[0]?.restartCount}`).sort().join(',');
    const podsBefore = pods();
    const holder = () => JSON.parse(cluster.kubectl(['-n', operatorNs, 'get', 'lease', 'switchyard', '-o', 'json'])).spec.holderIdentity as string;
    const leader = holder();
    const leaderPod = leader.replace(/-[^-]+$/, '');
    cluster.kubectl(['-n', operatorNs, 'delete', 'pod', leaderPod, '--grace-period=0', '--force']);
    const next = await waitUntil('the other operator replica to take the lease', 120, () => {
      const h = holder();
      return h && !h.startsWith(leaderPod) ? h : undefined;
    });
    log(`failover: ${leader} → ${next}`);
    assert.equal(pods(), podsBefore, 'no testbed pod restarted or replaced by the failover');
    // The new leader acts: a live change after the failover goes through Hydra.
    patchSequencers(3);
    await waitLive('configuration with 3 active sequencers after failover', 180, () => (status().activeSequencers === 3 ? true : undefined));
  });

  test('helm upgrade with changed values rolls the operator; a member image that does not exist is reported by the testbed', async (t) => {
    const podNames = () => cluster.kubectl(['-n', operatorNs, 'get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ').filter(Boolean).sort();
    const before = podNames();
    cluster.helm(['upgrade', 'switchyard', 'charts/switchyard', '-n', operatorNs, '--reuse-values', '--set', 'logLevel=debug',
      '--set', 'memberImage.repository=localhost/switchyard/missing', '--set', 'memberImage.tag=none', '--wait', '--timeout', '180s']);
    const args = JSON.parse(cluster.kubectl(['-n', operatorNs, 'get', 'deployment', 'switchyard', '-o', 'json'])).spec.template.spec.containers[0].args as string[];
    assert.ok(args.includes('--log-level=debug'), `the new value reached the operator: ${args.join(' ')}`);
    assert.ok(args.includes('--member-image=localhost/switchyard/missing:none'), `the member image reached the operator: ${args.join(' ')}`);
    await waitUntil('the old operator pods replaced', 180, () => {
      const now = podNames();
      return now.length === 2 && now.every((p) => !before.includes(p)) ? true : undefined;
    });
    // The image is not on the node and the pull policy (Never) forbids fetching it.
    const ns = 'sy-no-image';
    t.after(() => cluster.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']));
    const { kind, name } = applyChanged(ns, 'sequencergroup.yaml', () => {});
    await reportsProblem(ns, kind, name, 'MemberFailing', /ErrImageNeverPull.*localhost\/switchyard\/missing:none/);
  });

  test('helm uninstall leaves no operator objects', async () => {
    cluster.helm(['uninstall', 'switchyard', '-n', operatorNs, '--wait', '--timeout', '120s']);
    await waitUntil('operator pods gone', 120, () => cluster.kubectl(['-n', operatorNs, 'get', 'pods', '-o', 'name']).trim() === '' || undefined);
    // (the Prometheus Operator's own RBAC, switchyard-prometheus*, is the suite's, not the chart's)
    const left = cluster.kubectl(['get', 'clusterroles,clusterrolebindings', '-o', 'name']).split('\n').filter((n) => n.includes('switchyard') && !n.includes('switchyard-prometheus'));
    assert.deepEqual(left, [], 'no cluster-wide RBAC left behind');
    assert.equal(cluster.kubectl(['-n', operatorNs, 'get', 'deployments,serviceaccounts,services,roles,rolebindings', '-o', 'name']).split('\n').filter((n) => n.includes('switchyard')).length, 0);
  });
});
