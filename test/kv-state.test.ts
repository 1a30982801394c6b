import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvStore, encodeKvSnapshot, openKvState } from '../node/apps/kv.js';
import { equalBytes } from '../node/crypto/bytes.js';
import { SeededRandom } from '../node/runtime/random.js';

const put = (client: number, requestId: number, key: string, value: string) => ({ client, requestId, op: { op: 'put' as const, key, value } });

test('the state digest is a function of the contents: kept up to date through writes and undos, equal to a fresh computation', () => {
  const rng = new SeededRandom(5);
  const a = new KvStore();
  const undos = [];
  for (let i = 1; i <= 2000; i++) {
    const { undo } = a.execute(put(i % 5, i, `k${rng.int(700)}`, `v${i}`));
    undos.push(undo);
    if (i % 97 === 0) assert.ok(equalBytes(a.digest(), KvStore.fromSnapshot(a.snapshot()).digest()), `after ${i} writes`);
  }
  const full = a.digest();
  // A clone (a checkpoint's copy) hashes alike and moves on its own.
  const copy = a.clone();
  assert.ok(equalBytes(copy.digest(), full));
  copy.execute(put(9, 1, 'k0', 'only in the copy'));
  assert.ok(!equalBytes(copy.digest(), full) && equalBytes(a.digest(), full) && equalBytes(copy.digest(), KvStore.fromSnapshot(copy.snapshot()).digest()));
  // The same contents reached by another history (one write per key, in another order) hash alike.
  const b = KvStore.fromSnapshot({ data: [...a.snapshot().data].reverse(), last: a.snapshot().last });
  assert.ok(equalBytes(b.digest(), full));
  // Undoing the last writes gives the digest of the state before them; one changed value, another digest.
  for (const u of undos.splice(1500).reverse()) a.undo(u);
  const replay = new KvStore();
  const rng2 = new SeededRandom(5);
  for (let i = 1; i <= 1500; i++) replay.execute(put(i % 5, i, `k${rng2.int(700)}`, `v${i}`));
  assert.ok(equalBytes(a.digest(), replay.digest()));
  assert.ok(!equalBytes(a.digest(), full));
  replay.execute(put(1, 9999, 'k1', 'changed'));
  assert.ok(!equalBytes(a.digest(), replay.digest()));
});

test('a transferred state opens only with the digest its certificate names; a malformed one is refused by reason', () => {
  const store = new KvStore();
  store.execute(put(0, 1, 'k0', 'a'));
  const bytes = encodeKvSnapshot(store.snapshot());
  const opened = openKvState(bytes, store.digest());
  assert.ok(opened instanceof KvStore && equalBytes(opened.digest(), store.digest()));
  const forged = encodeKvSnapshot({ ...store.snapshot(), data: [['k0', 'forged']] });
  assert.equal(openKvState(forged, store.digest()), 'state-digest-mismatch');
  for (const bad of ['{"data":[[1,2]],"last":[]}', '{"data":[],"last":[{"client":"x"}]}', 'not json']) {
    assert.equal(openKvState(new TextEncoder().encode(bad), store.digest()), 'malformed-state', bad);
  }
});
