import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnUp } from './support/up-process.js';

test('switchyard up runs HydraTxn as processes over a lossy network with a shard leader killed mid-run; the transaction history is linearizable', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sy-txn-')), 'txn.yaml');
  writeFileSync(file, `${readFileSync('examples/hydratxn.yaml', 'utf8')}  network:\n    loss: 0.01\n`);
  const up = spawnUp(file, 8);
  assert.ok(await up.waitFor(/transactions [1-9]/), `no transactions before the run ended:\n${up.out.stderr}`);
  process.kill(up.pidOf('receiver-g1-0'), 'SIGKILL');
  assert.equal(await up.exited, 0, up.out.stderr);
  const stderr = up.out.stderr;
  const result = up.result();
  assert.equal(result.ok, true, stderr);
  assert.equal(result.members.expected, 20);
  assert.equal(result.linearizable, true);
  assert.ok(result.committed > 300, `committed ${result.committed}`);
  assert.ok(result.drop_notifications > 0, 'the lossy network dropped ordered messages, which the shards recovered');
  assert.ok((result.view_changes['leader-silent'] ?? 0) >= 1, `shard 1 changed view: ${JSON.stringify(result.view_changes)}`);
  assert.equal(typeof result.transactions_aborted, 'number');
  assert.match(stderr, /committed transactions\s+\d/);
  assert.match(stderr, /lost by a whole shard\s+\d+ recovered/);
  assert.match(stderr, /linearizable\s+yes/);
});
