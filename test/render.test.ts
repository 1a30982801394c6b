import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { plan } from '../operator/plan/plan.js';
import { render } from '../operator/render/render.js';
import { parseResource } from '../operator/schema/resources.js';

const owner = { kind: 'SequencerGroup', name: 'demo', namespace: 'lab', uid: 'u-1' };
const opts = { image: 'switchyard:test', imagePullPolicy: 'IfNotPresent' as const, clusterDomain: 'cluster.local', podMonitor: false };
const resource = (edit: (spec: Record<string, unknown>) => void = () => {}) => {
  const r = parse(readFileSync('examples/sequencergroup.yaml', 'utf8'));
  edit(r.spec);
  return parseResource(r);
};

test('a SequencerGroup renders to owned, hardened children', () => {
  const objects = render(plan(resource()), owner, opts);
  const names = objects.map((o) => `${o.kind}/${o.metadata!.name}`);
  assert.deepEqual(names, [
    'ConfigMap/demo-topology', 'Service/demo', 'StatefulSet/demo-config', 'StatefulSet/demo-aggregator',
    'StatefulSet/demo-receiver-g0', 'StatefulSet/demo-receiver-g1', 'StatefulSet/demo-sequencer', 'StatefulSet/demo-client',
    'NetworkPolicy/demo-isolation',
  ]);
  for (const o of objects) {
    assert.equal(o.metadata!.namespace, 'lab');
    assert.deepEqual(o.metadata!.ownerReferences, [{
      apiVersion: 'switchyard.dev/v1alpha1', kind: 'SequencerGroup', name: 'demo', uid: 'u-1', controller: true, blockOwnerDeletion: true,
    }]);
  }
  const sts = objects.find((o) => o.metadata!.name === 'demo-sequencer') as any;
  assert.equal(sts.spec.replicas, 3);
  const pod = sts.spec.template.spec;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  const c = pod.containers[0];
  assert.deepEqual(c.args, ['node', '--config', '/etc/switchyard/topology/node-config.json', '--role', 'sequencer']);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.equal(c.resources.limits.memory, '256Mi');
  assert.equal(c.terminationMessagePolicy, 'FallbackToLogsOnError', 'a crashing member\'s last log lines reach its termination message');
  const doc = JSON.parse((objects[0] as any).data['node-config.json']);
  assert.deepEqual(doc.addressing, { kind: 'dns', prefix: 'demo', domain: 'demo.lab.svc.cluster.local', port: 7000 });
  assert.ok(render(plan(resource()), owner, { ...opts, podMonitor: true }).some((o) => o.kind === 'PodMonitor'));
});

test('a live change keeps the pod template (no restart); another change rolls the pods', () => {
  const checksum = (r: ReturnType<typeof resource>) =>
    (render(plan(r), owner, opts).find((o) => o.metadata!.name === 'demo-receiver-g0') as any).spec.template.metadata.annotations['switchyard.dev/topology-checksum'];
  const base = checksum(resource());
  assert.equal(checksum(resource((s) => (s.sequencers = 5))), base);
  assert.notEqual(checksum(resource((s) => (s.failureTimeoutMillis = 400))), base);
});
