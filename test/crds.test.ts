import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { crdFiles } from '../operator/schema/crd.js';
import { type ControlPlane, startControlPlane } from './kube/envtest.js';

test('crds/ and the chart\'s copy are what the zod schemas generate (run `npm run crds` after a schema change)', () => {
  for (const dir of ['crds', 'charts/switchyard/crds']) {
    for (const [name, text] of crdFiles()) assert.equal(readFileSync(join(dir, name), 'utf8'), text, `${dir}/${name} is stale`);
  }
});

let cp: ControlPlane;
before(async () => {
  cp = await startControlPlane();
  cp.kubectl(['apply', '-f', 'crds/']);
  cp.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd', '--all']);
});
after(async () => {
  await cp?.stop();
});

/** kubectl's stderr for a command expected to fail. */
function refusal(args: string[], input?: string): string {
  try {
    cp.kubectl(args, input);
  } catch (e) {
    return (e as { stderr: Buffer }).stderr.toString();
  }
  throw new Error(`kubectl ${args.join(' ')} succeeded but should have been refused`);
}

const example = readFileSync('examples/sequencergroup.yaml', 'utf8');

test('every example is accepted, with defaults filled in by the API server', () => {
  cp.kubectl(['apply', '-f', 'examples/sequencergroup.yaml']);
  const sg = JSON.parse(cp.kubectl(['get', 'sg', 'demo', '-o', 'json']));
  assert.equal(sg.spec.sequencers, 3);
  assert.equal(sg.spec.configReplicas, 3, 'three configuration replicas by default');
  assert.equal(sg.spec.flush.solicitIntervalMicros, 500, 'a default the example leaves out');
  assert.equal(sg.spec.network.loss, 0);
  const table = cp.kubectl(['get', 'switchyard']);
  assert.match(table, /NAME\s+SEQUENCERS\s+ACTIVE\s+CONFIG\s+READY\s+STATUS\s+AGE/);
  assert.match(table, /demo\s+3/);
});

test('a BFTCluster is accepted, and replicas other than 3f+1 are refused by the CEL rule', () => {
  cp.kubectl(['apply', '-f', 'examples/bftcluster.yaml']);
  const b = JSON.parse(cp.kubectl(['get', 'bft', 'bft', '-o', 'json']));
  assert.equal(b.spec.signing.maxUnsigned, 16, 'a default the example leaves out');
  const bad = readFileSync('examples/bftcluster.yaml', 'utf8').replace('name: bft', 'name: bad').replace('replicas: 4', 'replicas: 5');
  assert.match(refusal(['apply', '-f', '-'], bad), /spec\.replicas must be 3f\+1/);
  assert.match(cp.kubectl(['get', 'switchyard']), /bft\s+neobft-hm\s+4/);
});

test('a BFTCluster with injected faults is accepted; more than f faulty replicas, or a lying PK sequencer, are refused by CEL rules', () => {
  const faults = readFileSync('examples/bftcluster-faults.yaml', 'utf8');
  cp.kubectl(['apply', '-f', '-'], faults);
  const b = JSON.parse(cp.kubectl(['get', 'bft', 'bft-faults', '-o', 'json']));
  assert.deepEqual(b.spec.faults, { replicas: [{ index: 3, behaviour: 'wrong-results' }], byzantineClient: true, sequencer: 'equivocate' });
  const two = faults.replace('name: bft-faults', 'name: bad').replace('        behaviour: wrong-results', '        behaviour: wrong-results\n      - index: 2\n        behaviour: silent');
  assert.match(refusal(['apply', '-f', '-'], two), /spec\.faults\.replicas: at most f replicas may be faulty/);
  const pk = faults.replace('name: bft-faults', 'name: bad').replace('protocol: neobft-hm', 'protocol: neobft-pk');
  assert.match(refusal(['apply', '-f', '-'], pk), /a misbehaving sequencer needs protocol neobft-hm/);
  const outside = faults.replace('name: bft-faults', 'name: bad').replace('index: 3', 'index: 7');
  assert.match(refusal(['apply', '-f', '-'], outside), /indexes must be below spec\.replicas/);
});

test('invalid resources are refused with messages that name the field', () => {
  const bad = (from: string, to: string) => example.replace('name: demo', 'name: bad').replace(from, to);
  assert.match(refusal(['apply', '-f', '-'], bad('sequencers: 3', 'sequencers: 0')), /spec\.sequencers: Invalid value: 0: spec\.sequencers in body should be greater than or equal to 1/);
  assert.match(refusal(['apply', '-f', '-'], bad('sequencers: 3', 'sequencers: 3\n  configReplicas: 4')), /spec\.configReplicas must be odd/);
  assert.match(refusal(['apply', '-f', '-'], bad('routing: load-aware', 'routing: fastest')), /spec\.routing: Unsupported value: "fastest"/);
  assert.match(refusal(['apply', '-f', '-'], bad('routing: load-aware', 'routing: random\n  colour: blue')), /unknown field "spec\.colour"/);
  assert.match(refusal(['apply', '-f', '-'], example.replace('name: demo', `name: ${'x'.repeat(41)}`)), /metadata\.name must be at most 40 characters/);
});

test('fields that can\'t change on a running testbed are immutable', () => {
  cp.kubectl(['apply', '-f', '-'], example.replace('name: demo', 'name: fixed'));
  assert.match(refusal(['apply', '-f', '-'], example.replace('name: demo', 'name: fixed').replace('groups: 2', 'groups: 3')),
    /spec\.groups: Invalid value: "integer": spec\.groups cannot change on a running testbed/);
  // spec.sequencers is live: it goes through Hydra's reconfiguration.
  cp.kubectl(['apply', '-f', '-'], example.replace('name: demo', 'name: fixed').replace('sequencers: 3', 'sequencers: 5'));
});
