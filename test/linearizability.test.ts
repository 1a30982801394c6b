import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type KvInput, type KvOutput, kvModel } from '../node/check/kv-model.js';
import { type Operation, checkLinearizable } from '../node/check/linearizability.js';
import { SeededRandom } from '../node/runtime/random.js';

type Op = Operation<KvInput, KvOutput>;
const op = (client: number, input: KvInput, output: KvOutput | undefined, call: number, ret: number): Op => ({ client, input, output, call, ret });
const check = (h: Op[]) => checkLinearizable(kvModel, h);

test('sequential and overlapping histories that have a legal order are linearizable', () => {
  assert.ok(check([
    op(0, { op: 'put', key: 'x', value: 'a' }, {}, 0, 1),
    op(1, { op: 'get', key: 'x' }, { value: 'a' }, 2, 3),
  ]).linearizable);
  // The get overlaps the put: it may see either value.
  for (const seen of [null, 'a']) {
    assert.ok(check([
      op(0, { op: 'put', key: 'x', value: 'a' }, {}, 0, 10),
      op(1, { op: 'get', key: 'x' }, { value: seen }, 2, 3),
    ]).linearizable, `overlapping get sees ${seen}`);
  }
});

test('a stale read, a lost write and a wrong compare-and-set are caught', () => {
  const stale = check([
    op(0, { op: 'put', key: 'x', value: 'a' }, {}, 0, 1),
    op(0, { op: 'put', key: 'x', value: 'b' }, {}, 2, 3),
    op(1, { op: 'get', key: 'x' }, { value: 'a' }, 4, 5),
  ]);
  assert.equal(stale.linearizable, false);
  assert.equal(stale.complete, true);
  assert.match(stale.counterexample!.join('\n'), /client 1: get\(x\) = \{"value":"a"\}/);
  assert.equal(check([
    op(0, { op: 'cas', key: 'x', expected: null, value: 'a' }, { ok: true }, 0, 1),
    op(1, { op: 'cas', key: 'x', expected: null, value: 'b' }, { ok: true }, 2, 3),
  ]).linearizable, false, 'two compare-and-sets from the same value both succeeded');
  // Reads seeing values in an order no single sequence allows.
  assert.equal(check([
    op(0, { op: 'put', key: 'x', value: 'a' }, {}, 0, 100),
    op(1, { op: 'put', key: 'x', value: 'b' }, {}, 0, 100),
    op(2, { op: 'get', key: 'x' }, { value: 'a' }, 10, 20),
    op(3, { op: 'get', key: 'x' }, { value: 'b' }, 30, 40),
    op(2, { op: 'get', key: 'x' }, { value: 'a' }, 50, 60),
  ]).linearizable, false);
});

test('an operation that never returned may or may not have taken effect', () => {
  const pending = op(0, { op: 'put', key: 'x', value: 'a' }, undefined, 0, Infinity);
  assert.ok(check([pending, op(1, { op: 'get', key: 'x' }, { value: 'a' }, 5, 6)]).linearizable);
  assert.ok(check([pending, op(1, { op: 'get', key: 'x' }, { value: null }, 5, 6)]).linearizable);
  assert.equal(check([
    pending,
    op(1, { op: 'get', key: 'x' }, { value: 'a' }, 5, 6),
    op(1, { op: 'get', key: 'x' }, { value: null }, 7, 8),
  ]).linearizable, false, 'once seen, it has happened');
});

/** A real linearizable execution: ops take effect atomically at a random point inside [call, ret]. */
function execution(n: number, keys: number, clients: number, seed: number): Op[] {
  const rng = new SeededRandom(seed);
  const store = new Map<string, string>();
  const free = Array.from({ length: clients }, () => 0);
  const planned: { at: number; client: number; input: KvInput; call: number; ret: number }[] = [];
  for (let i = 0; i < n; i++) {
    const client = rng.int(clients);
    const call = free[client]! + rng.next() * 5;
    const ret = call + 1 + rng.next() * 20;
    free[client] = ret;
    const key = `k${rng.int(keys)}`;
    const r = rng.next();
    const input: KvInput = r < 0.5 ? { op: 'get', key } : r < 0.85 ? { op: 'put', key, value: `v${i}` } : { op: 'cas', key, expected: rng.chance(0.5) ? null : `v${rng.int(i + 1)}`, value: `v${i}` };
    planned.push({ at: call + rng.next() * (ret - call), client, input, call, ret });
  }
  return planned.sort((a, b) => a.at - b.at).map((p) => {
    const i = p.input;
    let output: KvOutput;
    if (i.op === 'get') output = { value: store.get(i.key) ?? null };
    else if (i.op === 'put') {
      store.set(i.key, i.value);
      output = {};
    } else {
      const ok = (store.get(i.key) ?? null) === i.expected;
      if (ok) store.set(i.key, i.value);
      output = { ok };
    }
    return op(p.client, i, output, p.call, p.ret);
  });
}

test('10,000-operation histories are checked, and a single corrupted read is found', () => {
  const history = execution(10_000, 50, 16, 7);
  const ok = check(history);
  assert.ok(ok.linearizable && ok.complete);
  const reads = history.filter((o) => o.input.op === 'get' && (o.output as { value: string | null }).value !== null);
  const victim = reads[reads.length >> 1]!;
  const corrupted = history.map((o) => (o === victim ? { ...o, output: { value: 'never-written' } } : o));
  const bad = check(corrupted);
  assert.equal(bad.linearizable, false);
  assert.ok(bad.complete, 'the search finished within its step budget');
});
