import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { apiServerAccess } from '../operator/members/access.js';
import { readMembers } from '../operator/members/read.js';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { podName } from '../node/runtime/addressing.js';
import { plan } from '../operator/plan/plan.js';
import type { Plan } from '../operator/plan/types.js';
import { parseResource } from '../operator/schema/resources.js';
import { type ControlPlane, startControlPlane } from './kube/envtest.js';

const CLI = 'dist/cli/switchyard.js';
let cp: ControlPlane;
let testbed: ChildProcess;
let testbedOut = '';
const operators: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

const getJson = (args: string[]) => JSON.parse(cp.kubectl(['get', ...args, '-o', 'json']));
const condition = (sg: any, type: string) => sg.status?.conditions?.find((c: any) => c.type === type);

/** No controller manager here: play the StatefulSet controller and report every pod of a testbed ready. */
function markReady(namespace: string, testbed: string): void {
  for (const sts of getJson(['statefulsets', '-n', namespace, '-l', `switchyard.dev/testbed=${testbed}`]).items) {
    const n = sts.spec.replicas;
    cp.kubectl(['patch', 'statefulset', sts.metadata.name, '-n', namespace, '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { replicas: n, readyReplicas: n, updatedReplicas: n, availableReplicas: n, observedGeneration: sts.metadata.generation } })]);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Members' HTTP endpoints as the operator reaches them here (there is no kubelet, so no pod
 * answers): `/{namespace}/{testbed}/{pod}/PATH`. A pod given a fake serves it (metrics texts the
 * test changes at will; `/admin` commands are accepted); any other pod is the same member of the
 * local testbed, whose real processes answer.
 */
const fakes = new Map<string, { metrics: () => string; admin: string[] }>();
let local: { plan: Plan; metricsBase: number };
let membersServer: http.Server;

function serveMembers(): Promise<string> {
  membersServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      void (async () => {
        const [, namespace, testbed, pod, ...rest] = (req.url ?? '').split('/');
        const path = `/${rest.join('/')}`;
        const fake = fakes.get(`${namespace}/${pod}`);
        if (fake) {
          if (req.method === 'POST') fake.admin.push(body);
          res.writeHead(200).end(req.method === 'POST' ? 'ok\n' : fake.metrics());
          return;
        }
        const member = local.plan.members.find((m) => `${testbed}-${podName(m.name)}` === pod);
        if (!member || namespace === 'faulty') {
          res.writeHead(404).end(`no member ${namespace}/${pod}\n`);
          return;
        }
        try {
          const r = await fetch(`http://127.0.0.1:${local.metricsBase + local.plan.idOf(member.name)}${path}`, { method: req.method, body: req.method === 'POST' ? body : undefined });
          res.writeHead(r.status).end(await r.text());
        } catch (err) {
          res.writeHead(502).end(`${(err as Error).message}\n`);
        }
      })();
    });
  });
  return new Promise((resolve) => membersServer.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(membersServer.address() as net.AddressInfo).port}/{namespace}/{service}/{pod}`)));
}

/** A counter that moves on every read: a member making progress. */
const moving = <T>(line: (n: number) => T) => {
  let n = 0;
  return () => line(++n);
};

/** An operator process against the test API server; it reaches members through `serveMembers`. */
async function startOperator(memberUrl: string, extra: string[] = []): Promise<{ proc: ChildProcess; port: number; log: () => string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [CLI, 'operator', '--image', 'switchyard:test', '--port', String(port),
    '--lease-duration', '6', '--renew-deadline', '4', '--retry-period', '1', '--member-url', memberUrl, '--resync', '5',
    '--observe-every', '2', '--stall-after', '60', ...extra], {
    env: { ...process.env, KUBECONFIG: cp.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (c) => (log += c));
  proc.stderr!.on('data', (c) => (log += c));
  operators.push(proc);
  return { proc, port, log: () => log };
}

type Operator = Awaited<ReturnType<typeof startOperator>>;

const metric = async (op: Operator, name: string) => {
  if (op.proc.exitCode !== null) throw new Error(`the operator exited (${op.proc.exitCode}):\n${op.log().slice(-3000)}`);
  const text = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : undefined;
};

let first: Operator;
let memberUrl = '';

before(async () => {
  cp = await startControlPlane();
  cp.kubectl(['apply', '-f', 'crds/']);
  cp.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd', '--all']);
  // The protocol side: the example testbed running as local processes; the operator reaches its
  // configuration service the way it reaches the config pod in a cluster.
  // It runs at a tenth of the example's rate: the operator's lease renewals share these 2 cores.
  const light = join(cp.dir, 'testbed.yaml');
  writeFileSync(light, readFileSync('examples/sequencergroup.yaml', 'utf8').replace('ratePerClient: 2000', 'ratePerClient: 200'));
  testbed = spawn(process.execPath, [CLI, 'up', light, '--duration', '600'], { stdio: ['ignore', 'pipe', 'pipe'] });
  testbed.stdout!.on('data', (c) => (testbedOut += c));
  const metricsBase = await eventually('the local testbed', () => Number(testbedOut.match(/metrics (\d+)\+id/)?.[1]));
  await eventually('the local testbed to run', () => /ordered [1-9]/.test(testbedOut), 60_000);
  local = { plan: plan(parseResource(parse(readFileSync(light, 'utf8')))), metricsBase };
  memberUrl = await serveMembers();
  first = await startOperator(memberUrl);
});

after(async () => {
  for (const p of operators) p.kill('SIGKILL');
  testbed?.kill('SIGINT');
  membersServer?.close();
  await cp?.stop();
});

test('the operator creates every child with owner references and a hardened pod template', async () => {
  cp.kubectl(['apply', '-f', 'examples/sequencergroup.yaml']);
  const sg = await eventually('status', () => {
    const s = getJson(['sg', 'demo', '--show-managed-fields']);
    return s.status?.observedGeneration === 1 && s;
  }, 90_000).catch((err: Error) => {
    throw new Error(`${err.message}; the operator's log ends:\n${first.log().slice(-3000)}`);
  });
  const uid = sg.metadata.uid;
  const children = [
    ['configmap', 'demo-topology'], ['service', 'demo'], ['networkpolicy', 'demo-isolation'],
    ...['config', 'aggregator', 'receiver-g0', 'receiver-g1', 'sequencer', 'client'].map((w) => ['statefulset', `demo-${w}`]),
  ];
  for (const [kind, name] of children) {
    const o = getJson([kind!, name!]);
    assert.deepEqual(o.metadata.ownerReferences, [{
      apiVersion: 'switchyard.dev/v1alpha1', kind: 'SequencerGroup', name: 'demo', uid, controller: true, blockOwnerDeletion: true,
    }], `${kind}/${name}`);
  }
  const sts = getJson(['statefulset', 'demo-receiver-g0']);
  assert.equal(sts.spec.replicas, 3);
  assert.equal(sts.spec.serviceName, 'demo');
  const pod = sts.spec.template.spec;
  assert.equal(pod.containers[0].image, 'switchyard:test');
  assert.deepEqual(pod.containers[0].args, ['node', '--config', '/etc/switchyard/topology/node-config.json', '--role', 'receiver-g0']);
  assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(getJson(['service', 'demo']).spec.clusterIP, 'None');
  const managers = sg.metadata.managedFields.filter((f: any) => f.manager === 'switchyard-operator').map((f: any) => f.subresource);
  assert.deepEqual(managers, ['status'], 'status is written only through /status');
  assert.match(cp.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=demo']), /Created/);
});

test('status follows member readiness and the protocol; conditions carry the reason', async () => {
  let sg = await eventually('MembersNotReady', () => {
    const s = getJson(['sg', 'demo']);
    return condition(s, 'Ready')?.reason === 'MembersNotReady' && s;
  });
  assert.equal(condition(sg, 'Ready').status, 'False');
  assert.match(condition(sg, 'Ready').message, /waiting for config 0\/3/);
  assert.equal(condition(sg, 'Progressing').status, 'True', 'pods not ready yet are progress, not "Stable"');
  markReady('default', 'demo');
  sg = await eventually('Ready', () => {
    const s = getJson(['sg', 'demo']);
    return condition(s, 'Ready')?.status === 'True' && s;
  });
  assert.equal(sg.status.ready, '17/17');
  assert.deepEqual(sg.status.members, { expected: 17, ready: 17 });
  assert.equal(condition(sg, 'Progressing').reason, 'Stable');
  // Read from the configuration service (a busy machine may make it answer late).
  sg = await eventually('the configuration service\'s numbers', () => {
    const s = getJson(['sg', 'demo']);
    return s.status.activeSequencers === 3 && condition(s, 'Reconfiguring')?.reason === 'Converged' && s;
  }, 60_000);
  assert.match(cp.kubectl(['get', 'sg']), /demo\s+3\s+3\s+\d+\s+17\/17\s+AllMembersReady/);
  // The configuration number is the configuration service's own (on a busy machine it may move on
  // by itself, suspecting a starved sequencer): the status follows it without any change to the resource.
  await eventually('the configuration service\'s configuration in status', async () => {
    const served = await (await fetch(`${memberUrl.replace('{namespace}/{service}/{pod}', 'default/demo/demo-config-0')}/metrics`)).text();
    const now = Number(served.match(/^switchyard_hydra_configuration\{[^}]*\} (\d+)$/m)?.[1]);
    return now >= 1 && getJson(['sg', 'demo']).status.configuration === now;
  });
  // The operator reads the receivers' delivered counters from the running testbed.
  await eventually('receivers seen delivering', () => /17\/17 members ready; receivers delivering/.test(condition(getJson(['sg', 'demo']), 'Ready')?.message));
});

test('scaling spec.sequencers is reconciled live through Hydra\'s configuration service', async () => {
  const before = getJson(['sg', 'demo']).status.configuration;
  cp.kubectl(['patch', 'sg', 'demo', '--type=merge', '-p', '{"spec":{"sequencers":2}}']);
  await eventually('the sequencer StatefulSet to scale', () => getJson(['statefulset', 'demo-sequencer']).spec.replicas === 2);
  const sg = await eventually('the protocol to remove a sequencer', () => {
    const s = getJson(['sg', 'demo']);
    return s.status?.activeSequencers === 2 && condition(s, 'Reconfiguring')?.reason === 'Converged' && s;
  });
  assert.ok(sg.status.configuration > before, 'a removal is a new configuration');
  // The pod template did not change: no restart of the testbed for a live change.
  assert.equal(getJson(['statefulset', 'demo-receiver-g0']).metadata.generation, 1);
  assert.match(cp.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=demo']), /Reconfiguring/);
});

test('a testbed too large for the namespace quota gets a reason and an event, not a crash loop', async () => {
  cp.kubectl(['create', 'namespace', 'small']);
  cp.kubectl(['create', 'quota', 'tiny', '-n', 'small', '--hard=pods=5']);
  cp.kubectl(['apply', '-n', 'small', '-f', 'examples/sequencergroup.yaml']);
  const sg = await eventually('QuotaExceeded', () => {
    const s = getJson(['sg', 'demo', '-n', 'small']);
    return condition(s, 'Ready')?.reason === 'QuotaExceeded' && s;
  });
  assert.match(condition(sg, 'Ready').message, /ResourceQuota tiny allows pods=5, the testbed needs 17/);
  assert.match(cp.kubectl(['get', 'events', '-n', 'small']), /QuotaExceeded/);
  assert.equal(JSON.parse(cp.kubectl(['get', 'statefulsets', '-n', 'small', '-o', 'json'])).items.length, 0);
});

test('two operator replicas elect one leader, and the standby takes over when it stops', async () => {
  const second = await startOperator(memberUrl);
  await eventually('the standby to serve its metrics', async () => (await metric(second, 'switchyard_operator_leader')) === 0);
  assert.equal(await metric(first, 'switchyard_operator_leader'), 1);
  assert.equal(await metric(second, 'switchyard_operator_leader'), 0);
  const lease = getJson(['lease', 'switchyard-operator']);
  first.proc.kill('SIGKILL');
  await eventually('failover', () => second.log().includes('became the leader'), 30_000);
  assert.notEqual(getJson(['lease', 'switchyard-operator']).spec.holderIdentity, lease.spec.holderIdentity);
  // The new leader reconciles: a new resource gets its children.
  // (Same membership as demo: both resources are served by the one local configuration service.)
  cp.kubectl(['apply', '-f', '-'], readFileSync('examples/sequencergroup.yaml', 'utf8').replace('name: demo', 'name: after').replace('sequencers: 3', 'sequencers: 2'));
  await eventually('children of the new resource', () => getJson(['configmap', 'after-topology']));
});

test('deleting a resource deletes everything it owns', async () => {
  cp.kubectl(['delete', 'sg', 'after', '--wait=true']);
  const left = () => JSON.parse(cp.kubectl(['get', 'statefulsets,configmaps,services,networkpolicies', '-l', 'switchyard.dev/testbed=after', '-o', 'json'])).items;
  await eventually('the garbage collector to remove the children', () => left().length === 0, 60_000);
});

test('with the Prometheus Operator installed, a testbed gets a PodMonitor', async () => {
  cp.kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'podmonitors.monitoring.coreos.com' },
    spec: {
      group: 'monitoring.coreos.com', scope: 'Namespaced', names: { kind: 'PodMonitor', plural: 'podmonitors', singular: 'podmonitor', listKind: 'PodMonitorList' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  }));
  cp.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/podmonitors.monitoring.coreos.com']);
  cp.kubectl(['create', 'namespace', 'monitored']);
  // A second operator install, scoped to one namespace, with its own lease.
  await startOperator(memberUrl, ['--namespaces', 'monitored', '--lease-name', 'monitored-operator', '--pod-monitor']);
  cp.kubectl(['apply', '-n', 'monitored', '-f', '-'], readFileSync('examples/sequencergroup.yaml', 'utf8').replace('sequencers: 3', 'sequencers: 2'));
  const pm = await eventually('a PodMonitor', () => getJson(['podmonitor', 'demo', '-n', 'monitored']));
  assert.deepEqual(pm.spec.selector.matchLabels, { 'switchyard.dev/testbed': 'demo' });
  assert.equal(pm.metadata.ownerReferences[0].kind, 'SequencerGroup');
});

test('a BFTCluster gets its key Secret once, mounted read-only, and its replica, sequencer and client StatefulSets', async () => {
  cp.kubectl(['apply', '-f', 'examples/bftcluster.yaml']);
  const secret = await eventually('the key Secret', () => getJson(['secret', 'bft-keys']));
  assert.equal(secret.metadata.ownerReferences[0].kind, 'BFTCluster');
  const keys = JSON.parse(Buffer.from(secret.data['keys.json'], 'base64').toString());
  assert.equal(keys.replicas.length, 4);
  for (const w of ['replica', 'sequencer', 'client']) await eventually(`StatefulSet bft-${w}`, () => getJson(['statefulset', `bft-${w}`]));
  const pod = getJson(['statefulset', 'bft-replica']).spec.template.spec;
  assert.deepEqual(pod.volumes.find((v: any) => v.name === 'keys').secret, { secretName: 'bft-keys', defaultMode: 0o440 });
  assert.ok(pod.containers[0].volumeMounts.find((m: any) => m.name === 'keys').readOnly);
  const doc = JSON.parse(getJson(['configmap', 'bft-topology']).data['node-config.json']);
  assert.equal(doc.keys, '/etc/switchyard/keys/keys.json');
  assert.ok(!JSON.stringify(doc).includes(keys.epochSecret), 'no key material in the ConfigMap');
  // A spec change rolls the pods but keeps the keys.
  cp.kubectl(['patch', 'bft', 'bft', '--type=merge', '-p', '{"spec":{"timeouts":{"gapMicros":3000}}}']);
  await eventually('the new topology', () => JSON.parse(getJson(['configmap', 'bft-topology']).data['node-config.json']).neobft.gapMicros === 3000);
  assert.equal(getJson(['secret', 'bft-keys']).metadata.resourceVersion, secret.metadata.resourceVersion);
  assert.match(cp.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=bft']), /KeysGenerated/);
});

test('SequencerGroups running HydraPaxos and HydraTxn, and a BFTCluster with injected faults, get the same kind of children with their application in the node document', async () => {
  for (const [file, name, groups, application] of [['examples/hydrapaxos.yaml', 'paxos', 2, 'hydrapaxos'], ['examples/hydratxn.yaml', 'txn', 3, 'hydratxn']] as const) {
    cp.kubectl(['apply', '-f', file]);
    for (let g = 0; g < groups; g++) {
      const sts = await eventually(`StatefulSet ${name}-receiver-g${g}`, () => getJson(['statefulset', `${name}-receiver-g${g}`]));
      assert.equal(sts.spec.replicas, 3, 'every group is 2f+1 = 3 replicas');
      assert.equal(sts.metadata.ownerReferences[0].kind, 'SequencerGroup');
    }
    const doc = JSON.parse(getJson(['configmap', `${name}-topology`]).data['node-config.json']);
    assert.equal(doc.hydra.application, application);
  }
  cp.kubectl(['apply', '-f', 'examples/bftcluster-faults.yaml']);
  const intruder = await eventually('StatefulSet bft-faults-intruder', () => getJson(['statefulset', 'bft-faults-intruder']));
  assert.deepEqual(intruder.spec.template.spec.containers[0].args.slice(-2), ['--role', 'intruder']);
  const doc = JSON.parse(getJson(['configmap', 'bft-faults-topology']).data['node-config.json']);
  assert.deepEqual(doc.neobft.faults, { replicas: [{ index: 3, behaviour: 'wrong-results' }], intruder: true, sequencer: 'equivocate' });
});

test('a MigratingService gets its switch, server and client StatefulSets, no Secret, and reports Ready once its members are', async () => {
  cp.kubectl(['apply', '-f', 'examples/migratingservice.yaml']);
  const msvc = await eventually('the MigratingService', () => getJson(['msvc', 'msvc']));
  for (const w of ['switch', 'server', 'client']) {
    const sts = await eventually(`StatefulSet msvc-${w}`, () => getJson(['statefulset', `msvc-${w}`]));
    assert.equal(sts.metadata.ownerReferences[0].kind, 'MigratingService');
    assert.equal(sts.metadata.ownerReferences[0].uid, msvc.metadata.uid);
  }
  assert.equal(getJson(['statefulset', 'msvc-server']).spec.replicas, 4);
  assert.deepEqual(getJson(['statefulset', 'msvc-switch']).spec.template.spec.containers[0].args.slice(-2), ['--role', 'switch']);
  const doc = JSON.parse(getJson(['configmap', 'msvc-topology']).data['node-config.json']);
  assert.equal(doc.system, 'capybara');
  assert.equal(doc.capybara.mode, 'capybara');
  assert.equal(doc.capybara.workload.stepAtMicros, 3_000_000);
  assert.throws(() => getJson(['secret', 'msvc-keys']), 'a MigratingService has no keys');
  for (let i = 0; i < 4; i++) {
    fakes.set(`default/msvc-server-${i}`, { metrics: moving((n) => `switchyard_capybara_served_requests_total{server="server-${i}"} ${n}\n`), admin: [] });
  }
  markReady('default', 'msvc');
  const ready = await eventually('Ready', () => {
    const s = getJson(['msvc', 'msvc']);
    return condition(s, 'Ready')?.status === 'True' && s;
  });
  assert.equal(ready.status.ready, '7/7');
  assert.match(cp.kubectl(['get', 'msvc']), /msvc\s+4\s+capybara\s+kv\s+7\/7\s+AllMembersReady/);
});

/** The passes an operator has made (reconciles and observations), from its own metrics. */
async function passes(op: Operator): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('switchyard_operator_reconcile_total{')).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

async function afterPasses(op: Operator, n: number): Promise<void> {
  const start = await passes(op);
  const deadline = Date.now() + 60_000;
  while ((await passes(op)) < start + n) {
    if (Date.now() > deadline) throw new Error(`the operator made fewer than ${n} passes in 60 s`);
    await sleep(250);
  }
}

/** Play the StatefulSet controller and the kubelet: a member pod owned by its StatefulSet, with the status a kubelet writes. */
function podWithStatus(namespace: string, testbed: string, workload: string, ordinal: number, status: object): void {
  const sts = getJson(['statefulset', `${testbed}-${workload}`, '-n', namespace]);
  const name = `${testbed}-${workload}-${ordinal}`;
  cp.kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace, labels: sts.spec.template.metadata.labels,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: sts.metadata.name, uid: sts.metadata.uid, controller: true }],
    },
    spec: sts.spec.template.spec,
  }));
  cp.kubectl(['patch', 'pod', name, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}

const memberStatus = (image: string, state: object, extra: object = {}) => ({
  containerStatuses: [{ name: 'member', image, imageID: '', ready: false, restartCount: 0, started: false, state, ...extra }],
});

const events = (namespace: string, name: string) =>
  getJson(['events', '-n', namespace, '--field-selector', `involvedObject.name=${name}`]).items as { type: string; reason: string; message: string }[];

let faulty: Operator;

test('members that cannot run: Ready names each pod, its reason and its last termination message, in one Warning Event per problem; members run --member-image', async () => {
  // From here on one operator, scoped to its namespace, acts alone (the others would act on it too).
  for (const p of operators) p.kill('SIGKILL');
  cp.kubectl(['create', 'namespace', 'faulty']);
  faulty = await startOperator(memberUrl, ['--namespaces', 'faulty', '--lease-name', 'faulty-operator', '--member-image', 'registry.test/members:missing',
    '--observe-every', '1', '--stall-after', '3']);
  cp.kubectl(['apply', '-n', 'faulty', '-f', 'examples/bftcluster.yaml']);
  const sts = await eventually('StatefulSet bft-sequencer', () => getJson(['statefulset', 'bft-sequencer', '-n', 'faulty']));
  assert.equal(sts.spec.template.spec.containers[0].image, 'registry.test/members:missing');
  assert.equal(sts.spec.template.spec.containers[0].terminationMessagePolicy, 'FallbackToLogsOnError');

  podWithStatus('faulty', 'bft', 'sequencer', 0, {
    phase: 'Running',
    ...memberStatus('registry.test/members:missing', { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=member' } }, {
      restartCount: 2,
      lastState: { terminated: { exitCode: 1, reason: 'Error', message: 'switchyard: unknown BFTCluster member "sequencer" (expected sequencer-N, replica-N or client-N)\n' } },
    }),
  });
  podWithStatus('faulty', 'bft', 'replica', 0, {
    phase: 'Pending', ...memberStatus('registry.test/members:missing', { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "registry.test/members:missing"' } }),
  });
  podWithStatus('faulty', 'bft', 'client', 0, {
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }],
  });
  const bft = await eventually('MemberFailing naming all three pods', () => {
    const b = getJson(['bft', 'bft', '-n', 'faulty']);
    const ready = condition(b, 'Ready');
    return ready?.reason === 'MemberFailing' && /bft-client-0/.test(ready.message) && /bft-replica-0/.test(ready.message) && b;
  });
  const message = condition(bft, 'Ready').message;
  assert.equal(condition(bft, 'Ready').status, 'False');
  assert.match(message, /bft-sequencer-0: CrashLoopBackOff \(last termination: Error, exit code 1: switchyard: unknown BFTCluster member "sequencer"/);
  assert.match(message, /bft-replica-0: ImagePullBackOff \(Back-off pulling image "registry.test\/members:missing"\)/);
  assert.match(message, /bft-client-0: Unschedulable \(0\/1 nodes are available: 1 Insufficient cpu.\)/);
  assert.equal(condition(bft, 'Ready').observedGeneration, bft.metadata.generation);
  assert.equal(condition(bft, 'Progressing').reason, 'MemberFailing', 'stuck, not "Stable"');
  const warnings = () => events('faulty', 'bft').filter((e) => e.type === 'Warning').map((e) => e.message).sort();
  const told = await eventually('a Warning Event for every pod', () => {
    const w = warnings();
    return ['bft-sequencer-0: CrashLoopBackOff', 'bft-replica-0: ImagePullBackOff', 'bft-client-0: Unschedulable'].every((p) => w.some((m) => m.includes(p))) && w;
  });
  // The kubelet retries the pull: ErrImagePull, then ImagePullBackOff again — the same problem, no new Event.
  podWithStatus('faulty', 'bft', 'replica', 0, { phase: 'Pending', ...memberStatus('registry.test/members:missing', { waiting: { reason: 'ErrImagePull', message: 'pull failed' } }) });
  await afterPasses(faulty, 4);
  assert.deepEqual(warnings(), told, 'no Event per pass while the problems last');
  // Only an unschedulable pod left: the reason says the testbed waits for a node.
  cp.kubectl(['delete', 'pod', '-n', 'faulty', 'bft-sequencer-0', 'bft-replica-0', '--wait=true']);
  const waiting = await eventually('MembersUnschedulable', () => {
    const b = getJson(['bft', 'bft', '-n', 'faulty']);
    return condition(b, 'Ready')?.reason === 'MembersUnschedulable' && b;
  });
  assert.match(condition(waiting, 'Ready').message, /^bft-client-0: Unschedulable/);
});

test('a testbed whose members are ready but whose protocol makes no progress is not Ready, says which role stalled, and is Ready again once it moves', async () => {
  // The members answer through fakes: receivers stuck at 100 delivered, sequencers stamping, configuration service at 1.
  let delivered = () => 100;
  let configuration = 1;
  const sg = readFileSync('examples/sequencergroup.yaml', 'utf8').replace('name: demo', 'name: stalled');
  const config = { metrics: () => `switchyard_hydra_configuration ${configuration}\nswitchyard_hydra_active_sequencers 3\n`, admin: [] as string[] };
  // Every replica of the configuration service reports the same configuration.
  for (const i of [0, 1, 2]) fakes.set(`faulty/stalled-config-${i}`, config);
  for (const g of [0, 1]) for (const r of [0, 1, 2]) fakes.set(`faulty/stalled-receiver-g${g}-${r}`, { metrics: () => `switchyard_hydra_delivered_total ${delivered()}\n`, admin: [] });
  for (const k of [0, 1, 2]) fakes.set(`faulty/stalled-sequencer-${k}`, { metrics: moving((n) => `switchyard_hydra_stamped_total{sequencer="${k}"} ${n}\n`), admin: [] });
  cp.kubectl(['apply', '-n', 'faulty', '-f', '-'], sg);
  await eventually('the children', () => getJson(['statefulset', 'stalled-client', '-n', 'faulty']));
  markReady('faulty', 'stalled');
  const stalled = await eventually('ProtocolStalled', () => {
    const s = getJson(['sg', 'stalled', '-n', 'faulty']);
    return condition(s, 'Ready')?.reason === 'ProtocolStalled' && s;
  }, 60_000);
  assert.equal(condition(stalled, 'Ready').status, 'False');
  assert.equal(condition(stalled, 'Ready').message, 'receivers delivered nothing for 3 s; sequencers kept stamping; configuration service at configuration 1');
  assert.equal(stalled.status.ready, '17/17', 'every pod is ready: only the protocol says otherwise');
  assert.equal(stalled.status.configuration, 1);
  assert.ok(config.admin.length > 0 && config.admin.every((c) => c === '{"sequencers":[0,1,2]}'), 'the membership was sent to the configuration service');
  await eventually('a ProtocolStalled Warning Event', () => events('faulty', 'stalled').some((e) => e.type === 'Warning' && e.reason === 'ProtocolStalled'));
  // The receivers stop answering for a while: progress unreadable is not the end of the stall.
  const receivers = [0, 1].flatMap((g) => [0, 1, 2].map((r) => `faulty/stalled-receiver-g${g}-${r}`));
  const answering = receivers.map((name) => [name, fakes.get(name)!] as const);
  for (const name of receivers) fakes.delete(name);
  await eventually('ProgressUnknown', () => condition(getJson(['sg', 'stalled', '-n', 'faulty']), 'Ready')?.reason === 'ProgressUnknown', 60_000);
  for (const [name, fake] of answering) fakes.set(name, fake);
  await eventually('ProtocolStalled again', () => condition(getJson(['sg', 'stalled', '-n', 'faulty']), 'Ready')?.reason === 'ProtocolStalled', 60_000);
  // The configuration service moves on by itself: the status follows without any change to the resource.
  configuration = 4;
  await eventually('configuration 4 in status', () => getJson(['sg', 'stalled', '-n', 'faulty']).status.configuration === 4);
  // Delivery resumes.
  delivered = moving((n) => 100 + n);
  const resumed = await eventually('Ready again', () => {
    const s = getJson(['sg', 'stalled', '-n', 'faulty']);
    return condition(s, 'Ready')?.status === 'True' && s;
  }, 60_000);
  assert.equal(condition(resumed, 'Ready').reason, 'AllMembersReady');
  assert.match(condition(resumed, 'Ready').message, /^17\/17 members ready; receivers delivering$/);
  await eventually('a ProgressResumed Event', () => events('faulty', 'stalled').some((e) => e.type === 'Normal' && e.reason === 'ProgressResumed'));
  assert.equal(events('faulty', 'stalled').filter((e) => e.reason === 'ProtocolStalled').length, 1, 'one Event for the stall, however long it lasted');
  const managers = getJson(['sg', 'stalled', '-n', 'faulty', '--show-managed-fields']).metadata.managedFields
    .filter((f: any) => f.manager === 'switchyard-operator').map((f: any) => f.subresource);
  assert.deepEqual(managers, ['status'], 'status is written only through /status');
});

test('out of the cluster, members are read and told through the API server\'s pod proxy', async (t) => {
  // The API server proxies only to routable pod IPs (never loopback): a member stands in on this machine's own address.
  const ip = Object.values(networkInterfaces()).flat().find((a) => a?.family === 'IPv4' && !a.internal)?.address;
  if (!ip) {
    t.skip('this machine has no non-loopback IPv4 address for the API server to proxy to');
    return;
  }
  const told: string[] = [];
  const member = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/admin') told.push(body);
      res.writeHead(req.url === '/metrics' || req.url === '/admin' ? 200 : 404).end(req.url === '/metrics' ? 'switchyard_hydra_configuration 3\n' : 'ok\n');
    });
  });
  await new Promise<void>((resolve) => member.listen(0, ip, resolve));
  t.after(() => member.close());
  const port = (member.address() as net.AddressInfo).port;
  cp.kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'proxied-config-0', namespace: 'faulty' },
    spec: { containers: [{ name: 'member', image: 'switchyard:test' }] },
  }));
  cp.kubectl(['patch', 'pod', 'proxied-config-0', '-n', 'faulty', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { podIP: ip, podIPs: [{ ip }] } })]);
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const access = apiServerAccess(kc, port);
  const to = { namespace: 'faulty', pod: 'proxied-config-0', ip: undefined, service: 'proxied' };
  const readings = await readMembers(access, new Map([['config', to]]), 10_000);
  assert.deepEqual(readings.get('config'), [{ name: 'switchyard_hydra_configuration', labels: {}, value: 3 }]);
  await access.post(to, '/admin', '{"sequencers":[0,1]}', 10_000);
  assert.deepEqual(told, ['{"sequencers":[0,1]}']);
  await assert.rejects(access.get({ ...to, pod: 'no-such-pod' }, '/metrics', 10_000), /pod proxy answered 404/);
});
