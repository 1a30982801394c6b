import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function up(edit: (yaml: string) => string, seconds = 6) {
  const dir = mkdtempSync(join(tmpdir(), 'sy-msvc-'));
  const file = join(dir, 'msvc.yaml');
  writeFileSync(file, edit(readFileSync('examples/migratingservice.yaml', 'utf8')));
  const { stdout, stderr } = await run(process.execPath, ['dist/cli/switchyard.js', 'up', file, '--duration', String(seconds), '--json']);
  return { result: JSON.parse(stdout.trim()), stderr };
}

const light = (y: string) => y.replace('ratePerClient: 2000', 'ratePerClient: 500');

test('switchyard up runs a MigratingService as processes: connections migrate under the step workload, no request is lost or executed twice', async () => {
  // A quarter of the example's rate: the switch forwards every segment of every client, and at the
  // full rate on a busy 2-core machine its queue grew so long that every PREPARE_MIG timed out.
  const { result, stderr } = await up((y) => light(y).replace('atSeconds: 3', 'atSeconds: 1').replace('  workload:\n', '  network:\n    loss: 0.002\n  workload:\n'));
  assert.equal(result.ok, true, stderr);
  assert.deepEqual(result.members, { expected: 7, ready: 7 });
  assert.ok(result.migrations > 0, `migrations ${JSON.stringify(result.migrations_by_result)}`);
  assert.equal(result.requests_lost, 0);
  assert.equal(result.requests_duplicated, 0);
  assert.equal(result.requests_wrong, 0);
  assert.equal(result.resets, 0);
  assert.ok(result.blackout_p50_s > 0, 'blackout measured');
  assert.deepEqual(Object.keys(result.load_per_server_rps), ['server-0', 'server-1', 'server-2', 'server-3']);
  assert.match(stderr, /requests lost \/ duplicated \/ wrong\s+0 \/ 0 \/ 0/);
});

test('the reconnect baseline cuts clients off instead of migrating; every request is still answered', async () => {
  const { result, stderr } = await up((y) => y.replace('mode: capybara', 'mode: reconnect').replace('atSeconds: 3', 'atSeconds: 1'), 4);
  assert.equal(result.ok, true, stderr);
  assert.equal(result.migrations, 0);
  assert.ok(result.reconnects > 0, `reconnects ${result.reconnects}`);
  assert.equal(result.requests_lost, 0);
});

test('a MigratingService with a bad field is refused, naming it', async () => {
  await assert.rejects(up((y) => y.replace('mode: capybara', 'mode: teleport')), (e: { stderr: string }) => /spec\.migration\.mode/.test(e.stderr));
});
