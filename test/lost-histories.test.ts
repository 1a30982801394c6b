import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelOf } from '../node/check/history-file.js';
import { type Operation, checkLinearizable } from '../node/check/linearizability.js';
import { withLostIncarnations } from '../operator/report/lost-histories.js';

type Op = Operation<unknown, unknown>;
const op = (client: number, input: unknown, output: unknown, call: number, ret: number): Op => ({ client, input, output, call, ret });
const linearizable = (ops: Op[], model: 'kv' | 'txn' = 'kv') => checkLinearizable(modelOf(model), ops).linearizable;
/** A client incarnation started at 1 ms (1000 µs in the members' clock) whose history was lost. */
const lost = [{ member: 'client-1', startedAt: 1 }];

test('a value only a lost incarnation wrote may be read: it becomes a put that never returned', () => {
  const ops = [
    op(0, { op: 'put', key: 'k', value: 'c0-1' }, {}, 0, 500),
    op(0, { op: 'get', key: 'k' }, { value: 'c1-7' }, 3000, 3100),
    op(0, { op: 'cas', key: 'k', expected: 'c1-7', value: 'c0-3' }, { ok: true }, 3200, 3300),
  ];
  assert.equal(linearizable(ops), false, 'without the rule the read of c1-7 is a false violation');
  const checked = withLostIncarnations(ops, lost, 'kv');
  assert.equal(linearizable(checked), true);
  assert.deepEqual(checked.at(-1), op(-1, { op: 'put', key: 'k', value: 'c1-7' }, undefined, 1000, Infinity));
  assert.equal(checked.length, 4, 'one put per value read, however often it is read');
});

test('a compare-and-set that failed after a lost incarnation started may have failed because of its write', () => {
  const ops = [op(0, { op: 'cas', key: 'k', expected: null, value: 'c0-1' }, { ok: false }, 2000, 2100)];
  assert.equal(linearizable(ops), false);
  assert.equal(linearizable(withLostIncarnations(ops, lost, 'kv')), true);
  // One that returned before the lost incarnation started is checked as it was.
  const before = [op(0, { op: 'cas', key: 'k', expected: null, value: 'c0-1' }, { ok: false }, 100, 900)];
  assert.equal(linearizable(withLostIncarnations(before, lost, 'kv')), false);
});

test('a violation among the histories that survive is still found', () => {
  // A stale read: c0-2 overwrote c0-1 before the get began, and nobody lost wrote c0-1.
  const ops = [
    op(0, { op: 'put', key: 'k', value: 'c0-1' }, {}, 2000, 2100),
    op(0, { op: 'put', key: 'k', value: 'c0-2' }, {}, 2200, 2300),
    op(2, { op: 'get', key: 'k' }, { value: 'c0-1' }, 2400, 2500),
  ];
  assert.equal(linearizable(withLostIncarnations(ops, lost, 'kv')), false);
});

test('no lost incarnation: the history is checked as recorded', () => {
  const ops = [op(0, { op: 'get', key: 'k' }, { value: 'c1-7' }, 3000, 3100)];
  assert.equal(withLostIncarnations(ops, [], 'kv'), ops);
});

test('transactions (increments cannot be traced to a writer): what returned after a lost incarnation started is checked without its result', () => {
  const ops = [
    op(0, { ops: [{ op: 'add', key: 'a0', delta: 5 }] }, [null], 100, 200),
    op(0, { ops: [{ op: 'get', key: 'a0' }] }, ['7'], 2000, 2100),
  ];
  assert.equal(linearizable(ops, 'txn'), false, 'a lost add of 2 explains the 7');
  const checked = withLostIncarnations(ops, lost, 'txn');
  assert.equal(linearizable(checked, 'txn'), true);
  assert.deepEqual(checked[0], ops[0]);
  assert.equal(checked[1]!.output, undefined);
  // Before the lost incarnation started, a wrong read is still a violation.
  const early = [...ops.slice(0, 1), op(0, { ops: [{ op: 'get', key: 'a0' }] }, ['6'], 300, 400)];
  assert.equal(linearizable(withLostIncarnations(early, lost, 'txn'), 'txn'), false);
});
