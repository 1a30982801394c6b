import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { Histogram, Registry } from 'prom-client';
import type { Operation } from '../node/check/linearizability.js';
import { CLIENT_METRICS } from '../node/runtime/metrics.js';
import { type ClientHistory, checkHistory, historyPrefix, wholeHistory } from '../operator/report/histories.js';
import type { ApiResponse, Cluster } from '../operator/status/cluster.js';
import { ObserveError } from '../operator/status/errors.js';
import { lostIncarnations, status } from '../operator/status/status.js';
import { plan as planResource } from '../operator/plan/plan.js';
import { parseResource } from '../operator/schema/resources.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Op = Operation<unknown, unknown>;
const NS = 'lab';
const T = 1_700_000_000_000_000; // µs since the epoch, as members record

const paxos: KubernetesObject = {
  apiVersion: 'switchyard.dev/v1alpha1', kind: 'SequencerGroup', metadata: { name: 'paxos', namespace: NS },
  spec: { application: 'hydrapaxos', sequencers: 1, groups: 1, receiversPerGroup: 3, configReplicas: 1, workload: { clients: 2 } },
} as KubernetesObject;
/** paxos's members and their pods (StatefulSet paxos-WORKLOAD, ordinal in plan order). */
const MEMBERS: Record<string, string> = {
  'config-0': 'paxos-config-0', aggregator: 'paxos-aggregator-0', 'receiver-g0-0': 'paxos-receiver-g0-0', 'receiver-g0-1': 'paxos-receiver-g0-1',
  'receiver-g0-2': 'paxos-receiver-g0-2', 'sequencer-0': 'paxos-sequencer-0', 'client-0': 'paxos-client-0', 'client-1': 'paxos-client-1',
};

const readyPod = (name: string): V1Pod => ({
  metadata: { name, namespace: NS, labels: { 'switchyard.dev/testbed': 'paxos' } },
  spec: { containers: [{ name: 'member', ports: [{ name: 'metrics', containerPort: 9464 }] }] },
  status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
});

const put = (client: number, key: string, value: string, call: number, ret: number): Op =>
  ({ client, input: { op: 'put', key, value }, output: {}, call: T + call, ret: T + ret });
const get = (client: number, key: string, value: string | null, call: number, ret: number): Op =>
  ({ client, input: { op: 'get', key }, output: { value }, call: T + call, ret: T + ret });
const waiting = (client: number, key: string, call: number): Op => ({ client, input: { op: 'get', key }, output: undefined, call: T + call, ret: Infinity });

/**
 * A cluster that answers like the API server: the resource, its pods, and the pod proxy serving
 * each member's `/metrics.json` (clients commit one more operation per scrape while `progress`)
 * and the clients' `/history.json`.
 */
class FakeCluster implements Cluster {
  readonly server = 'https://fake-apiserver:6443';
  readonly paths: string[] = [];
  private readonly registries = new Map<string, { reg: Registry; latency: Histogram }>();

  constructor(readonly pods: V1Pod[], readonly histories: Record<string, { completed: Op[]; pending: Op | null }>, readonly progress = true) {}

  async getResource(plural: string, namespace: string, name: string): Promise<KubernetesObject> {
    if (plural === 'sequencergroups' && namespace === NS && name === 'paxos') return paxos;
    throw Object.assign(new Error('HTTP-Code: 404'), { code: 404, body: JSON.stringify({ kind: 'Status', message: `${plural}.switchyard.dev "${name}" not found` }) });
  }

  /** Called after each pod listing (the first is before the window, the last after it). */
  onList = (_listing: number) => {};
  private listings = 0;

  async listPods(): Promise<V1Pod[]> {
    this.onList(this.listings++);
    return structuredClone(this.pods); // a fresh listing, as from the API server
  }

  async get(path: string): Promise<ApiResponse> {
    this.paths.push(path);
    const m = path.match(/^\/api\/v1\/namespaces\/lab\/pods\/([a-z0-9-]+):9464\/proxy(\/.*)$/);
    const member = m && Object.keys(MEMBERS).find((k) => MEMBERS[k] === m[1]);
    if (!m || !member) return { status: 404, body: JSON.stringify({ kind: 'Status', message: `pods "${m?.[1]}" not found` }) };
    if (m[2] === '/history.json') return { status: 200, body: JSON.stringify(this.histories[member]) };
    if (m[2] !== '/metrics.json') return { status: 404, body: 'not found\n' };
    let r = this.registries.get(member);
    if (!r) {
      const reg = new Registry();
      r = { reg, latency: new Histogram({ name: CLIENT_METRICS.requestSeconds, help: 'h', labelNames: ['system'], buckets: [0.001, 0.01], registers: [reg]! }) };
      this.registries.set(member, r);
    }
    if (member.startsWith('client') && this.progress) r.latency.labels('hydrapaxos').observe(0.002);
    return { status: 200, body: JSON.stringify(member.startsWith('client') ? await r.reg.getMetricsAsJSON() : []) };
  }
}

const linearizable = () => ({
  'client-0': { completed: [put(0, 'k0', 'a', 0, 10), get(0, 'k0', 'a', 20, 30)], pending: waiting(0, 'k0', 40) },
  'client-1': { completed: [put(1, 'k1', 'b', 5, 15), get(1, 'k0', 'a', 31, 35)], pending: waiting(1, 'k1', 50) },
});

async function observe(cluster: Cluster, opts: { watch?: boolean; durationSeconds?: number; name?: string; kind?: string } = {}) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c) => (text += c));
  const r = await status(cluster, {
    name: opts.name ?? 'paxos', namespace: NS, kind: opts.kind, watch: opts.watch ?? false, durationSeconds: opts.durationSeconds ?? 1.2,
    out, interrupted: new Promise(() => {}),
  });
  return { ...r, text };
}

test('status scrapes every member through the pod proxy and checks the clients\' histories: ok, exit 0', async () => {
  const cluster = new FakeCluster(Object.values(MEMBERS).map(readyPod), linearizable());
  const { exitCode, result, text } = await observe(cluster);
  assert.equal(exitCode, 0, text);
  assert.equal(result.ok, true);
  assert.equal(result.kind, 'SequencerGroup');
  assert.deepEqual(result.members, { expected: 8, ready: 8 });
  assert.equal(result.linearizable, true);
  assert.equal(result.committed, 4);
  assert.ok((result.ops_per_s as number) > 0);
  assert.deepEqual(result.failures, []);
  for (const [member, pod] of Object.entries(MEMBERS)) {
    assert.ok(cluster.paths.includes(`/api/v1/namespaces/lab/pods/${pod}:9464/proxy/metrics.json`), `${member} scraped as ${pod}`);
  }
  assert.ok(cluster.paths.includes('/api/v1/namespaces/lab/pods/paxos-client-1:9464/proxy/history.json'));
  assert.match(text, /result\s+ok\n/);
  assert.match(text, /linearizable\s+yes \(4 operations checked\)/);
});

test('status --watch prints up\'s live line every second', async () => {
  const { exitCode, text } = await observe(new FakeCluster(Object.values(MEMBERS).map(readyPod), linearizable()), { watch: true, durationSeconds: 2.6 });
  assert.equal(exitCode, 0, text);
  const lines = text.split('\n').filter((l) => /^\[\s*\d+s\] committed /.test(l));
  assert.ok(lines.length >= 2, text);
  assert.match(lines[0]!, /· up 8\/8$/);
});

test('status exits 1 when the histories are not linearizable', async () => {
  const h = linearizable();
  h['client-1'].completed[1] = get(1, 'k0', 'never-written', 31, 35);
  const { exitCode, result, text } = await observe(new FakeCluster(Object.values(MEMBERS).map(readyPod), h));
  assert.equal(exitCode, 1);
  assert.equal(result.linearizable, false);
  assert.equal(result.linearizability_check, 'violation');
  assert.ok((result.failures as string[]).includes('the client histories are not linearizable'));
  assert.match(text, /switchyard check /);
});

test('status names a member whose pod is not ready, with its phase and reason, or missing; exit 1', async () => {
  const pods = Object.values(MEMBERS).filter((p) => p !== 'paxos-sequencer-0').map(readyPod);
  const crashing = pods.find((p) => p.metadata!.name === 'paxos-receiver-g0-1')!;
  crashing.status = {
    phase: 'Running', podIP: '10.0.0.2', conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
    containerStatuses: [{
      name: 'member', image: 'switchyard', imageID: '', ready: false, restartCount: 4,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s restarting failed container' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error', message: 'switchyard: unknown member\n' } },
    }],
  };
  const { exitCode, result } = await observe(new FakeCluster(pods, linearizable()));
  assert.equal(exitCode, 1);
  assert.deepEqual(result.members, { expected: 8, ready: 6 });
  const failures = (result.failures as string[]).join('\n');
  assert.match(failures, /pod paxos-receiver-g0-1 \(member receiver-g0-1\) is Running, not Ready: container member CrashLoopBackOff: back-off 1m20s.*last terminated: Error \(exit code 1\): switchyard: unknown member/);
  assert.match(failures, /pod paxos-sequencer-0 \(member sequencer-0\) does not exist \(StatefulSet paxos-sequencer\)/);
});

test('status names a member that restarted or was replaced during the window; expendable ones are the protocol\'s business', async () => {
  const pods = Object.values(MEMBERS).map(readyPod);
  const cluster = new FakeCluster(pods, linearizable());
  const pod = (name: string) => pods.find((p) => p.metadata!.name === name)!;
  cluster.onList = (n) => {
    if (n !== 1) return;
    pod('paxos-config-0').status!.containerStatuses = [{ name: 'member', image: 'i', imageID: '', ready: true, restartCount: 1 }];
    pod('paxos-client-0').metadata!.uid = 'another';
    pod('paxos-sequencer-0').status!.containerStatuses = [{ name: 'member', image: 'i', imageID: '', ready: true, restartCount: 2 }];
  };
  const { exitCode, result } = await observe(cluster);
  assert.equal(exitCode, 1);
  assert.deepEqual((result.failures as string[]).filter((f) => /during the window/.test(f)), [
    'pod paxos-config-0 (member config-0) restarted 1 times during the window',
    'pod paxos-client-0 (member client-0) was replaced during the window',
  ]);
});

test('status exits 1 when the clients made no progress in the window', async () => {
  const { exitCode, result } = await observe(new FakeCluster(Object.values(MEMBERS).map(readyPod), linearizable(), false));
  assert.equal(exitCode, 1);
  assert.match((result.failures as string[]).join('\n'), /the clients made no progress in the \d+\.\ds window/);
});

test('status says which kinds it looked for when the name is not found', async () => {
  const cluster = new FakeCluster([], {});
  await assert.rejects(observe(cluster, { name: 'nope' }), (err: Error) =>
    err instanceof ObserveError && err.message === 'no SequencerGroup, BFTCluster or MigratingService named "nope" in namespace lab');
  await assert.rejects(observe(cluster, { kind: 'bft' }), /^ObserveError: no BFTCluster named "paxos" in namespace lab$/);
  await assert.rejects(observe(cluster, { kind: 'pods' }), /--kind must be one of SequencerGroup \(sequencergroups, sg\)/);
});

test('histories read one after another are checked up to one instant, with no false violation', () => {
  // client-0 was read first; afterwards it wrote k=2, then k=3, which client-1 (read later) saw.
  const histories: ClientHistory[] = [
    { client: 'client-0', completed: [put(0, 'k', '1', 0, 10)], pending: { ...put(0, 'k', '2', 20, 0), ret: Infinity, output: undefined } },
    { client: 'client-1', completed: [get(1, 'k', '1', 12, 18), get(1, 'k', '3', 60, 70)], pending: waiting(1, 'k', 80) },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'sy-status-'));
  assert.equal(checkHistory(wholeHistory(histories), 'kv', join(dir, 'whole.json')).linearizable, false, 'the whole history shows a value nobody wrote');
  const prefix = historyPrefix(histories, T + 1_000);
  assert.deepEqual(prefix.map((o) => [o.client, (o.input as { op: string }).op, o.ret === Infinity ? 'open' : o.ret - T]),
    [[0, 'put', 10], [0, 'put', 'open'], [1, 'get', 18]], 'cut at client-0\'s last event (its waiting call at 20)');
  assert.equal(checkHistory(prefix, 'kv', join(dir, 'prefix.json')).linearizable, true);
  // A client showing nothing yet bounds the cut by the instant the reads began.
  assert.equal(historyPrefix([{ client: 'client-0', completed: [], pending: null }, ...histories], T + 15).length, 2);
});

test('a client pod that restarted or was replaced has lost its earlier history: it counts from the resource\'s creation', () => {
  const p = planResource(parseResource({ ...paxos }));
  const created = Date.parse('2026-01-01T00:00:00Z');
  const at = (seconds: number) => new Date(created + seconds * 1000).toISOString();
  const member = (name: string, createdAfter: number, restartCount = 0) => {
    const pod = readyPod(MEMBERS[name]!);
    pod.metadata!.creationTimestamp = at(createdAfter) as unknown as Date;
    pod.status!.containerStatuses = [{ name: 'member', image: 'i', imageID: '', ready: true, restartCount }];
    return { member: name, podName: MEMBERS[name]!, pod };
  };
  assert.deepEqual(lostIncarnations([member('client-0', 1), member('client-1', 2), member('config-0', 300, 4)], p, created), [], 'first incarnations everywhere (a replica\'s restarts are not a client\'s)');
  assert.deepEqual(lostIncarnations([member('client-0', 1, 1), member('client-1', 240)], p, created),
    [{ member: 'client-0', startedAt: created }, { member: 'client-1', startedAt: created }]);
});
