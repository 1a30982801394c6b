import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseNodeDocument } from '../node/config.js';
import { plan } from '../operator/plan/plan.js';
import { loadResourceFile } from '../operator/schema/resources.js';

const example = () => plan(loadResourceFile('examples/sequencergroup.yaml'));
const hydraOf = (p: ReturnType<typeof example>) => {
  if (p.document.system !== 'hydra') throw new Error('not a Hydra plan');
  return p.document.hydra;
};

test('the planner turns the example into the members, workloads and parameters of the issue', () => {
  const p = example();
  const names = p.members.map((m) => m.name);
  assert.equal(names.filter((n) => n.startsWith('sequencer-')).length, 3);
  assert.equal(names.filter((n) => n.startsWith('receiver-g')).length, 6);
  assert.equal(names.filter((n) => n.startsWith('client-')).length, 4);
  assert.deepEqual(names.filter((n) => n.startsWith('config-')), ['config-0', 'config-1', 'config-2']);
  assert.ok(names.includes('aggregator'));
  assert.equal(hydraOf(p).configReplicas, 3);
  assert.deepEqual(p.workloads.find((w) => w.name === 'config'), { name: 'config', kind: 'StatefulSet', replicas: 3 });
  assert.equal(new Set(p.members.map((m) => p.idOf(m.name))).size, p.members.length, 'member ids are unique');
  assert.equal(hydraOf(p).failureTimeoutMicros, 250_000);
  assert.deepEqual(p.reconfigure, {
    members: ['config-0', 'config-1', 'config-2'], command: { sequencers: [0, 1, 2] }, converged: { field: 'activeSequencers', value: 3 },
  });
  // Clock errors stay inside the spec's bounds and are the same on every planning.
  for (const c of hydraOf(p).sequencerClocks) assert.ok(Math.abs(c.skewMicros) <= 200 && Math.abs(c.drift) <= 1e-4);
  assert.deepEqual(example().document, p.document);
});

test('a node document is validated and errors name the field', () => {
  const doc = {
    ...example().document,
    addressing: { kind: 'loopback', basePort: 30000 },
    metrics: { kind: 'offset', basePort: 33000 },
  };
  assert.equal(parseNodeDocument(doc, 'x').system, 'hydra');
  const bad = structuredClone(doc) as Record<string, any>;
  bad.hydra.groups = 0;
  bad.hydra.solicitation = 'sometimes';
  delete bad.addressing.basePort;
  assert.throws(() => parseNodeDocument(bad, 'cm.json'), (e: Error) =>
    /invalid node configuration cm\.json/.test(e.message) && /hydra\.groups: Too small/.test(e.message)
    && /hydra\.solicitation: Invalid option/.test(e.message) && /addressing\.basePort/.test(e.message));
});

test('switchyard node exits with a clear message on a bad configuration or role', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-node-'));
  const file = join(dir, 'bad.json');
  writeFileSync(file, '{"system":"hydra","name":"x"}');
  const run = (args: string[]) => {
    try {
      execFileSync(process.execPath, ['dist/cli/switchyard.js', 'node', ...args], { stdio: 'pipe' });
      return '';
    } catch (e) {
      return (e as { stderr: Buffer }).stderr.toString();
    }
  };
  assert.match(run(['--config', file, '--role', 'config-0']), /addressing: Invalid input/);
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ ...example().document, addressing: { kind: 'loopback', basePort: 30000 }, metrics: { kind: 'offset', basePort: 33000 } }));
  assert.match(run(['--config', good, '--role', 'receiver-g5-0']), /receiver 0 of group 5 does not exist/);
  assert.match(run(['--config', good, '--role', 'config-3']), /configuration replica 3 does not exist \(3 replicas\)/);
  assert.match(run(['--config', good, '--role', 'sequencer']), /needs an ordinal/);
  assert.match(run(['--config', good, '--role', 'config']), /needs an ordinal/);
  assert.match(run(['--config', join(dir, 'missing.json'), '--role', 'config-0']), /cannot read node configuration/);
});
