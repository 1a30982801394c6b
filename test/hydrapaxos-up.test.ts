import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { spawnUp } from './support/up-process.js';

const run = promisify(execFile);
const CLI = 'dist/cli/switchyard.js';

test('switchyard up runs HydraPaxos as processes over a lossy network; the clients\' histories are linearizable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-paxos-'));
  const file = join(dir, 'paxos.yaml');
  writeFileSync(file, `${readFileSync('examples/hydrapaxos.yaml', 'utf8')}  network:\n    loss: 0.01\n`);
  const { stdout, stderr } = await run(process.execPath, [CLI, 'up', file, '--duration', '5', '--json']);
  const result = JSON.parse(stdout.trim());
  assert.equal(result.ok, true, stderr);
  assert.deepEqual(result.members, { expected: 17, ready: 17 });
  assert.deepEqual(result.invariant_violations, {}, stderr);
  assert.equal(result.linearizable, true);
  assert.ok(result.committed > 500, `committed ${result.committed}`);
  assert.ok(result.latency_s.p50 > 0);
  assert.ok(result.drop_notifications > 0, 'the lossy network dropped ordered messages, which the replicas recovered');
  assert.equal(typeof result.noops, 'number');
  assert.match(stderr, /committed operations\s+\d/);
  assert.match(stderr, /linearizable\s+yes/);
  // The history is kept beside the logs, and checking it again gives the same verdict.
  const again = JSON.parse((await run(process.execPath, [CLI, 'check', result.history_file, '--json'])).stdout);
  assert.equal(again.verdict, 'linearizable');
  assert.equal(again.model, 'kv');
  assert.ok(again.operations >= result.committed, `${again.operations} operations in the file, ${result.committed} committed`);
});

test('killing a group\'s leader and a sequencer mid-run: the group changes view, Hydra removes the sequencer, the history stays linearizable', async () => {
  const up = spawnUp('examples/hydrapaxos.yaml', 10);
  await up.waitFor(/committed [1-9]/);
  process.kill(up.pidOf('receiver-g0-0'), 'SIGKILL');
  await new Promise((r) => setTimeout(r, 1500));
  process.kill(up.pidOf('sequencer-1'), 'SIGKILL');
  assert.equal(await up.exited, 0, up.out.stderr);
  const stderr = up.out.stderr;
  const result = up.result();
  assert.equal(result.ok, true, stderr);
  assert.ok((result.view_changes['leader-silent'] ?? 0) >= 1, JSON.stringify(result.view_changes));
  assert.ok(result.configuration >= 2, `configuration ${result.configuration}: the killed sequencer was removed`);
  // A failure (seen once in a full suite, never reproduced) prints what the replicas logged about it.
  const evidence = () => [stderr, ...up.logLines(/invariant broken|view change|adopted|removed|added/)].join('\n');
  assert.deepEqual(result.invariant_violations, {}, evidence());
  assert.equal(result.linearizable, true, evidence());
  assert.ok(result.committed > 500, `committed ${result.committed}`);
});
