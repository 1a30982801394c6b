import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from '../node/protocol/backoff.js';
import { InvariantError, invariant, reportInvariantViolations } from '../node/protocol/invariant.js';
import { leaderOf } from '../node/protocol/leader.js';
import { QuorumTally, Votes, crashFaults } from '../node/protocol/quorum.js';
import { Fragments, Reassembly } from '../node/protocol/reassembly.js';
import { WireError } from '../node/runtime/core.js';

test('votes: one per sender, the threshold reported reached exactly once, a different second vote is equivocation', () => {
  const v = new Votes<string>(2);
  assert.equal(v.add(0, 'a'), 'counted');
  assert.equal(v.reached, false);
  assert.equal(v.add(0, 'a'), 'repeat');
  assert.equal(v.add(0, 'b'), 'equivocation');
  assert.equal(v.size, 1);
  assert.equal(v.get(0), 'a', 'the first vote stands');
  assert.equal(v.add(1, 'a'), 'reached');
  assert.equal(v.add(2, 'a'), 'counted', 'reached is reported once');
  assert.equal(v.reached, true);
  assert.deepEqual(v.senders(), [0, 1, 2]);
});

test('votes: a custom equality, and a threshold of zero is reached before any vote', () => {
  const v = new Votes<{ key: number }>(3, (a, b) => a.key === b.key);
  v.add(4, { key: 1 });
  assert.equal(v.add(4, { key: 1 }), 'repeat');
  assert.equal(v.add(4, { key: 2 }), 'equivocation');
  assert.equal(new Votes(0).reached, true);
  assert.throws(() => new Votes(-1), /non-negative integer/);
});

test('quorum tally: votes counted per key, independently', () => {
  const t = new QuorumTally(2);
  assert.equal(t.add('slot-1', 0, true), 'counted');
  assert.equal(t.add('slot-2', 1, true), 'counted');
  assert.equal(t.add('slot-1', 1, true), 'reached');
  assert.equal(t.count('slot-1'), 2);
  assert.equal(t.count('slot-2'), 1);
  t.delete('slot-1');
  assert.equal(t.count('slot-1'), 0);
  assert.equal(t.get('slot-1'), undefined);
  assert.equal(t.size, 1);
});

test('votes where the latest vote stands: set replaces a sender\'s vote, and votes matching a value (not the primary\'s) are counted against the threshold', () => {
  const v = new Votes<string>(2);
  assert.equal(v.set(0, 'a'), true, 'a first vote');
  assert.equal(v.set(1, 'b'), true);
  assert.equal(v.set(1, 'a'), false, 'a later vote of the same sender');
  assert.equal(v.get(1), 'a', 'the latest vote stands');
  assert.deepEqual(v.senders(), [0, 1], 'in the order first voted');
  assert.equal(v.count((x) => x === 'a'), 2);
  assert.equal(v.reachedBy((x) => x === 'a'), true);
  assert.equal(v.reachedBy((x, sender) => x === 'a' && sender !== 0), false, 'a sender left out');
  assert.equal(v.reachedBy((x) => x === 'b'), false);
  assert.equal(new Votes<string>(0).reachedBy(() => false), true);
  assert.equal(v.delete(0), true);
  assert.equal(v.delete(0), false, 'no vote left to forget');
  assert.deepEqual(v.senders(), [1]);
  v.clear();
  assert.equal(v.size, 0);
});

test('quorum tally where the latest vote stands: set per key returns that key\'s votes; entries in the order first voted for', () => {
  const t = new QuorumTally<string>(2);
  assert.equal(t.set('d1', 0, 'view 1').size, 1);
  t.set('d2', 1, 'view 1');
  const d1 = t.set('d1', 0, 'view 2');
  assert.equal(d1.get(0), 'view 2');
  assert.equal(d1.reached, false);
  assert.equal(t.set('d1', 2, 'view 2').reached, true);
  assert.deepEqual([...t.entries()].map(([key, votes]) => [key, votes.size]), [['d1', 2], ['d2', 1]]);
});

test('crash faults and the leader rule', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 7].map(crashFaults), [0, 0, 1, 1, 2, 3]);
  assert.deepEqual([0, 1, 2, 3, 4, 7].map((v) => leaderOf(v, 3)), [0, 1, 2, 0, 1, 1]);
  assert.throws(() => leaderOf(-1, 3), /non-negative integer/);
  assert.throws(() => leaderOf(1, 0), /at least one replica/);
});

test('fragments: whole once every index up to the last is in, in any order, repeats ignored', () => {
  const f = new Fragments(8);
  assert.equal(f.add(2, Uint8Array.of(5, 6), true), null);
  assert.equal(f.add(0, Uint8Array.of(1, 2), false), null);
  assert.equal(f.add(0, Uint8Array.of(9, 9), false), null);
  assert.deepEqual(f.add(1, Uint8Array.of(3, 4), false), Uint8Array.of(1, 2, 3, 4, 5, 6));
  const one = new Fragments(1);
  assert.deepEqual(one.add(0, Uint8Array.of(7), true), Uint8Array.of(7));
});

test('fragments: out of bounds or past the last fragment is refused with a reason', () => {
  const f = new Fragments(4);
  assert.throws(() => f.add(4, Uint8Array.of(1), false), (e: unknown) => e instanceof WireError && e.reason === 'out-of-range');
  f.add(1, Uint8Array.of(1), true);
  assert.throws(() => f.add(2, Uint8Array.of(1), false), (e: unknown) => e instanceof WireError && e.reason === 'bad-field');
  assert.throws(() => f.add(0, Uint8Array.of(1), true), (e: unknown) => e instanceof WireError && e.reason === 'bad-field');
});

test('reassembly: messages by id, a copy of each chunk kept, at most a bounded number partial at once', () => {
  const r = new Reassembly(2, 16);
  const chunk = Uint8Array.of(1);
  assert.equal(r.add('a', 0, 2, chunk), null);
  chunk[0] = 9;
  assert.equal(r.add('b', 0, 2, Uint8Array.of(3)), null);
  assert.deepEqual(r.add('a', 1, 2, Uint8Array.of(2)), Uint8Array.of(1, 2));
  // 'c' and 'd' push 'b' out: its second chunk then starts it afresh.
  r.add('c', 0, 2, Uint8Array.of(0));
  r.add('d', 0, 2, Uint8Array.of(0));
  assert.equal(r.add('b', 1, 2, Uint8Array.of(4)), null);
  assert.throws(() => r.add('e', 0, 17, chunk), (e: unknown) => e instanceof WireError && e.reason === 'out-of-range');
  assert.throws(() => r.add('e', 3, 2, chunk), (e: unknown) => e instanceof WireError && e.reason === 'out-of-range');
});

test('invariant: throws where it breaks by default; counted by an installed reporter instead', () => {
  assert.equal(invariant(true, 'order', () => 'never evaluated'), true);
  assert.throws(() => invariant(false, 'order', () => 'slot 3 after slot 4'), (e: unknown) =>
    e instanceof InvariantError && e.what === 'order' && e.message === 'invariant order broken: slot 3 after slot 4');
  const seen: string[] = [];
  const restore = reportInvariantViolations((what, detail) => seen.push(`${what}: ${detail}`));
  try {
    assert.equal(invariant(false, 'view-advances', () => 'view 2 after view 3'), false);
  } finally {
    restore();
  }
  assert.deepEqual(seen, ['view-advances: view 2 after view 3']);
  assert.throws(() => invariant(false, 'order', () => 'again'), InvariantError);
});

test('backoff: an item waits a base interval after it is first seen, then twice as long per resend up to the cap; forgotten, it starts over', () => {
  const b = new Backoff<number>(5, 40);
  const sent: number[] = [];
  for (let now = 0; now <= 200; now++) if (b.due(7, now)) sent.push(now);
  assert.deepEqual(sent, [5, 15, 35, 75, 115, 155, 195], 'after 5, then 10, 20, 40, 40, …');
  assert.equal(b.due(8, 200), false, 'another item has its own schedule');
  b.forgetWhere((k) => k === 7);
  assert.equal(b.size, 1);
  assert.equal(b.due(7, 201), false, 'forgotten: seen anew');
  assert.equal(b.due(7, 206), true);
  b.forget(8);
  b.clear();
  assert.equal(b.size, 0);
  assert.throws(() => new Backoff(0, 10), /0 < base ≤ max/);
  assert.throws(() => new Backoff(10, 5), /0 < base ≤ max/);
});
