import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type ControlPlane, startControlPlane } from './kube/envtest.js';

const CLI = 'dist/cli/switchyard.js';
let cp: ControlPlane;
let testbed: ChildProcess;
let testbedOut = '';
const operators: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = probe();
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

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** An operator process against the test API server; its admin/metrics calls go to the local testbed's config service. */
async function startOperator(memberUrl: string, extra: string[] = []): Promise<{ proc: ChildProcess; port: number; log: () => string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [CLI, 'operator', '--image', 'switchyard:test', '--port', String(port),
    '--lease-duration', '6', '--renew-deadline', '4', '--retry-period', '1', '--member-url', memberUrl, '--resync', '5', ...extra], {
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
let configUrl = '';

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
  configUrl = `http://127.0.0.1:${metricsBase + 1}`;
  first = await startOperator(configUrl);
});

after(async () => {
  for (const p of operators) p.kill('SIGKILL');
  testbed?.kill('SIGINT');
  await cp?.stop();
});

test('the operator creates every child with owner references and a hardened pod template', async () => {
  cp.kubectl(['apply', '-f', 'examples/sequencergroup.yaml']);
  const sg = await eventually('status', () => {
    const s = getJson(['sg', 'demo', '--show-managed-fields']);
    return s.status?.observedGeneration === 1 && s;
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
  assert.match(condition(sg, 'Ready').message, /waiting for config 0\/1/);
  // No controller manager here: play the StatefulSet controller and report every pod ready.
  for (const w of ['config', 'aggregator', 'receiver-g0', 'receiver-g1', 'sequencer', 'client']) {
    const sts = getJson(['statefulset', `demo-${w}`]);
    const n = sts.spec.replicas;
    cp.kubectl(['patch', 'statefulset', `demo-${w}`, '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { replicas: n, readyReplicas: n, updatedReplicas: n, availableReplicas: n, observedGeneration: sts.metadata.generation } })]);
  }
  sg = await eventually('Ready', () => {
    const s = getJson(['sg', 'demo']);
    return condition(s, 'Ready')?.status === 'True' && s;
  });
  assert.equal(sg.status.ready, '15/15');
  assert.deepEqual(sg.status.members, { expected: 15, ready: 15 });
  assert.equal(condition(sg, 'Progressing').reason, 'Stable');
  assert.equal(sg.status.configuration, 1, 'read from the configuration service');
  assert.equal(sg.status.activeSequencers, 3);
  assert.equal(condition(sg, 'Reconfiguring').reason, 'Converged');
  assert.match(cp.kubectl(['get', 'sg']), /demo\s+3\s+3\s+1\s+15\/15\s+AllMembersReady/);
});

test('scaling spec.sequencers is reconciled live through Hydra\'s configuration service', async () => {
  cp.kubectl(['patch', 'sg', 'demo', '--type=merge', '-p', '{"spec":{"sequencers":2}}']);
  await eventually('the sequencer StatefulSet to scale', () => getJson(['statefulset', 'demo-sequencer']).spec.replicas === 2);
  const sg = await eventually('the protocol to remove a sequencer', () => {
    const s = getJson(['sg', 'demo']);
    return s.status?.activeSequencers === 2 && condition(s, 'Reconfiguring')?.reason === 'Converged' && s;
  });
  assert.equal(sg.status.configuration, 2, 'one removal: configuration 1 → 2');
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
  assert.match(condition(sg, 'Ready').message, /ResourceQuota tiny allows pods=5, the testbed needs 15/);
  assert.match(cp.kubectl(['get', 'events', '-n', 'small']), /QuotaExceeded/);
  assert.equal(JSON.parse(cp.kubectl(['get', 'statefulsets', '-n', 'small', '-o', 'json'])).items.length, 0);
});

test('two operator replicas elect one leader, and the standby takes over when it stops', async () => {
  const second = await startOperator(configUrl);
  await sleep(3000);
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
  await startOperator(configUrl, ['--namespaces', 'monitored', '--lease-name', 'monitored-operator', '--pod-monitor']);
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
  assert.ok(!JSON.stringify(doc).includes(keys.epochs[0].sequencer), 'no key material in the ConfigMap');
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
  for (const w of ['switch', 'server', 'client']) {
    const sts = getJson(['statefulset', `msvc-${w}`]);
    const n = sts.spec.replicas;
    cp.kubectl(['patch', 'statefulset', `msvc-${w}`, '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { replicas: n, readyReplicas: n, updatedReplicas: n, availableReplicas: n, observedGeneration: sts.metadata.generation } })]);
  }
  const ready = await eventually('Ready', () => {
    const s = getJson(['msvc', 'msvc']);
    return condition(s, 'Ready')?.status === 'True' && s;
  });
  assert.equal(ready.status.ready, '7/7');
  assert.match(cp.kubectl(['get', 'msvc']), /msvc\s+4\s+capybara\s+kv\s+7\/7\s+AllMembersReady/);
});
