import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import net from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { type ControlPlane, startControlPlane } from './kube/envtest.js';

/**
 * `switchyard status` against a real kube-apiserver (envtest): finding the resource among the
 * kinds, its member pods and their phases and reasons, and every error that stops it from
 * observing. Nothing runs pods here (no kubelet): pods are created and their status set by
 * the test. Where the machine has a non-loopback address, the pod proxy is exercised for real:
 * pods get that address as their IP and the test serves each member's endpoints on it (the API
 * server refuses to proxy to loopback); the proxy to real member pods is the real-cluster
 * suite's part.
 */

const CLI = 'dist/cli/switchyard.js';
const NS = 'lab';
let cp: ControlPlane;
const servers: Server[] = [];

function status(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'status', ...args], { env: { ...process.env, KUBECONFIG: cp.kubeconfig, ...env }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

const paxos = (name: string) => ({
  apiVersion: 'switchyard.dev/v1alpha1', kind: 'SequencerGroup', metadata: { name, namespace: NS },
  spec: { application: 'hydrapaxos', sequencers: 1, groups: 1, receiversPerGroup: 3, configReplicas: 1, workload: { clients: 2 } },
});
/** The pods of paxos's members: StatefulSet NAME-WORKLOAD, ordinals in plan order. */
const MEMBERS: [string, string][] = [
  ['config-0', 'config-0'], ['aggregator', 'aggregator-0'], ['receiver-g0-0', 'receiver-g0-0'], ['receiver-g0-1', 'receiver-g0-1'],
  ['receiver-g0-2', 'receiver-g0-2'], ['sequencer-0', 'sequencer-0'], ['client-0', 'client-0'], ['client-1', 'client-1'],
];

/** A non-loopback IPv4 address of this machine: the API server proxies to nothing else. */
const hostAddress = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** When the clients' recorded operations begin (µs since the epoch, the members' clock). */
const HISTORY_START = Date.now() * 1000;

/** One member's endpoints on the host address: `/metrics.json` (a client commits one operation per scrape) and `/history.json`. */
async function serveMember(member: string): Promise<number> {
  const reg = new Registry();
  const latency = new Histogram({ name: 'switchyard_client_request_seconds', help: 'h', labelNames: ['system'], buckets: [0.001, 0.01], registers: [reg] });
  const t = HISTORY_START;
  const c = Number(member.split('-')[1]);
  const history = {
    completed: [
      { client: c, input: { op: 'put', key: `k${c}`, value: 'v' }, output: {}, call: t, ret: t + 100 },
      { client: c, input: { op: 'get', key: `k${c}` }, output: { value: 'v' }, call: t + 200, ret: t + 300 },
    ],
    pending: { client: c, input: { op: 'get', key: `k${c}` }, call: t + 400, ret: null },
  };
  const server = createServer(async (req, res) => {
    if (req.url === '/metrics.json') {
      if (member.startsWith('client')) latency.labels('hydrapaxos').observe(0.002);
      res.end(JSON.stringify(await reg.getMetricsAsJSON()));
    } else if (req.url === '/history.json' && member.startsWith('client')) {
      res.end(JSON.stringify(history));
    } else {
      res.statusCode = 404;
      res.end('not found\n');
    }
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, hostAddress, () => r()));
  return (server.address() as net.AddressInfo).port;
}

const apply = (obj: unknown) => cp.kubectl(['apply', '-f', '-'], JSON.stringify(obj));
const setStatus = (pod: string, s: unknown) =>
  cp.kubectl(['patch', 'pod', pod, '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: s })]);

function memberPod(testbed: string, pod: string, port: number) {
  apply({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: `${testbed}-${pod}`, namespace: NS, labels: { 'switchyard.dev/testbed': testbed } },
    spec: { containers: [{ name: 'member', image: 'switchyard:test', ports: [{ name: 'metrics', containerPort: port }] }] },
  });
}

const ready = (ip: string) => ({
  phase: 'Running', podIP: ip, podIPs: [{ ip }],
  conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True' }],
});

before(async () => {
  cp = await startControlPlane();
});

after(async () => {
  for (const s of servers) s.close();
  await cp?.stop();
});

test('without the CRDs, status says they are not installed; exit 3', async () => {
  const r = await status(['paxos', '-n', NS]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /no SequencerGroup, BFTCluster or MigratingService named "paxos" in namespace lab \(not installed in this cluster: sequencergroups\.switchyard\.dev, bftclusters\.switchyard\.dev, migratingservices\.switchyard\.dev; kubectl apply -f crds\/\)/);
  cp.kubectl(['apply', '-f', 'crds/']);
  cp.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd', '--all']);
  cp.kubectl(['create', 'namespace', NS]);
});

test('a name that is no testbed: the kinds tried are named; --json says so on stdout; exit 3', async () => {
  const r = await status(['nothing', '-n', NS, '--json']);
  assert.equal(r.code, 3);
  assert.equal(r.stderr.trim(), 'switchyard: no SequencerGroup, BFTCluster or MigratingService named "nothing" in namespace lab');
  assert.deepEqual(JSON.parse(r.stdout), { ok: false, error: 'no SequencerGroup, BFTCluster or MigratingService named "nothing" in namespace lab' });
  apply(paxos('twin'));
  apply({ apiVersion: 'switchyard.dev/v1alpha1', kind: 'BFTCluster', metadata: { name: 'twin', namespace: NS }, spec: {} });
  const twin = await status(['twin', '-n', NS]);
  assert.equal(twin.code, 3);
  assert.match(twin.stderr, /"twin" in namespace lab is a SequencerGroup and a BFTCluster: say which with --kind/);
  const bft = await status(['twin', '-n', NS, '--kind', 'sg', '--duration', '0.5']);
  assert.match(bft.stdout, /SequencerGroup lab\/twin: 0\/8 member pods ready/);
  assert.match(bft.stdout, /pod twin-config-0 \(member config-0\) does not exist \(StatefulSet twin-config\)/);
});

test('no kubeconfig, or an API server that does not answer: said plainly; exit 3', async () => {
  const home = mkdtempSync(join(tmpdir(), 'sy-status-home-'));
  const none = await status(['paxos'], { KUBECONFIG: '', HOME: home });
  assert.equal(none.code, 3);
  assert.match(none.stderr, /no kubeconfig: KUBECONFIG is not set, .*\.kube\/config does not exist/);
  const missing = await status(['paxos'], { KUBECONFIG: join(home, 'nope') });
  assert.match(missing.stderr, /no kubeconfig: KUBECONFIG names .*nope, which does not exist/);

  const closed = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
  const kubeconfig = join(home, 'kubeconfig');
  writeFileSync(kubeconfig, readFileSync(cp.kubeconfig, 'utf8').replace(cp.server, `https://127.0.0.1:${closed}`));
  const down = await status(['paxos', '-n', NS], { KUBECONFIG: kubeconfig });
  assert.equal(down.code, 3);
  assert.match(down.stderr, new RegExp(`cannot reach the API server at https://127\\.0\\.0\\.1:${closed} while reading SequencerGroup lab/paxos: .*ECONNREFUSED`));
});

test('member pods found by the plan: each one not ready is named with its phase and reason; exit 1', async () => {
  apply(paxos('paxos'));
  const ip = hostAddress ?? '10.0.0.1';
  for (const [member, pod] of MEMBERS) {
    if (member === 'sequencer-0') continue; // never created
    memberPod('paxos', pod, hostAddress ? await serveMember(member) : 9464);
    setStatus(`paxos-${pod}`, ready(ip));
  }
  setStatus('paxos-receiver-g0-1', {
    phase: 'Running', conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
    containerStatuses: [{
      name: 'member', image: 'switchyard:test', imageID: '', ready: false, restartCount: 3,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=member' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error', message: 'switchyard: unknown BFTCluster member' } },
    }],
  });
  setStatus('paxos-client-1', {
    phase: 'Pending', podIP: null, podIPs: null,
    conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }],
  });
  const r = await status(['paxos', '-n', NS, '--duration', '1', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.ok, false);
  assert.equal(result.kind, 'SequencerGroup');
  assert.deepEqual(result.members, { expected: 8, ready: 5 });
  const failures = (result.failures as string[]).join('\n');
  assert.match(failures, /pod paxos-sequencer-0 \(member sequencer-0\) does not exist \(StatefulSet paxos-sequencer\)/);
  assert.match(failures, /pod paxos-receiver-g0-1 \(member receiver-g0-1\) is Running, not Ready: container member CrashLoopBackOff: back-off 40s .*last terminated: Error \(exit code 1\): switchyard: unknown BFTCluster member; container member restarted 3 times/);
  assert.match(failures, /pod paxos-client-1 \(member client-1\) is Pending, not Ready: Unschedulable: 0\/1 nodes are available: 1 Insufficient cpu\./);
  if (!hostAddress) {
    assert.match(failures, /not answering through the pod proxy/);
    return;
  }
  // The pod proxy reached the members that have an address: their metrics, and client-0's history.
  // A crash-looping pod keeps its address: the proxy still reaches it. The pending one has none.
  assert.doesNotMatch(failures, /not answering/);
  assert.match(failures, /the history of client-1 could not be read: pod paxos-client-1 has no IP \(Pending\)/);
  assert.ok(result.ops_per_s > 0, 'client-0 committed through the window, read through the pod proxy');
  assert.match(r.stderr, /· up|members ready\s+5\/8/);
});

test('every member ready and answering through the pod proxy: up\'s verdict, ok; exit 0', { skip: !hostAddress && 'no non-loopback address to proxy to' }, async () => {
  setStatus('paxos-receiver-g0-1', { ...ready(hostAddress!), containerStatuses: [] });
  setStatus('paxos-client-1', ready(hostAddress!));
  memberPod('paxos', 'sequencer-0', await serveMember('sequencer-0'));
  setStatus('paxos-sequencer-0', ready(hostAddress!));
  const r = await status(['paxos', '-n', NS, '--watch', '--duration', '2.5', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.ok, true, r.stderr);
  assert.deepEqual(result.members, { expected: 8, ready: 8 });
  assert.equal(result.linearizable, true);
  assert.equal(result.committed, 4);
  assert.match(r.stderr, /\[\s+\d+s\] committed .* · up 8\/8\n/);
  assert.match(r.stderr, /linearizable\s+yes \(4 operations checked\)/);
});
