import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Candidate, type Cooldowns, type ServerLoad, decide, defaultMigrationPolicy as P, shedByQueue, shedByRate, shortOfCapacity } from '../node/capybara/policy.js';
import { ServiceQueue } from '../node/capybara/service-queue.js';

/** The policy's pure functions (node/capybara/policy.ts, docs/capybara.md#the-policy). */

const load = (o: Partial<ServerLoad>): ServerLoad => ({ sumRps: 10_000, individualRps: 5_000, servers: 2, arrivalRps: 5_000, capacityRps: null, queue: 0, ...o });
const conns = (...rates: number[]): Candidate<string>[] => rates.map((rps, i) => ({ key: `c${i}`, rps, queued: 0 }));
const fresh: Cooldowns = { rateUntil: 0, queueUntil: 0 };

test('rate half: nothing at or under (threshold + ε) × fair share; above it, the busiest connections until back at the threshold', () => {
  // Two servers, 10k in all: fair 5k, trigger 1.2 × 5k = 6k, target 1.1 × 5k = 5.5k.
  assert.deepEqual(shedByRate(P, load({ individualRps: 6_000 }), conns(500, 400)), []);
  assert.deepEqual(shedByRate(P, load({ individualRps: 6_500 }), conns(300, 600, 200, 100)), ['c1', 'c0', 'c2']);
  // Never below the fair share (5k): moving 1.6k would leave 4.9k, so it stays; 1.2k leaves 5.3k.
  assert.deepEqual(shedByRate(P, load({ individualRps: 6_500 }), conns(1_600, 1_200)), ['c1']);
});

test('rate half: connections over the cap stay, at most maxPerDecision move, and a quiet cluster moves nothing', () => {
  const policy = { ...P, connRateCapRps: 700, maxPerDecision: 2 };
  assert.deepEqual(shedByRate(policy, load({ individualRps: 9_000 }), conns(900, 300, 200, 100)), ['c1', 'c2']);
  assert.deepEqual(shedByRate(P, load({ sumRps: 400, individualRps: 390 }), conns(100, 100)), []);
  assert.deepEqual(shedByRate(P, load({ servers: 1, individualRps: 10_000 }), conns(100)), []);
});

test('queue half: the busiest connections with requests waiting until the queue is back at the threshold; none below it', () => {
  const c: Candidate<string>[] = [{ key: 'a', rps: 900, queued: 4 }, { key: 'b', rps: 100, queued: 9 }, { key: 'c', rps: 300, queued: 9 }, { key: 'd', rps: 950, queued: 0 }];
  assert.deepEqual(shedByQueue(P, load({ queue: 19 }), c), []);
  // 30 waiting, threshold 20: a (the busiest with a queue: 26 left), c (17).
  assert.deepEqual(shedByQueue(P, load({ queue: 30 }), c), ['a', 'c']);
  // A connection with nothing waiting does not shorten the queue: never moved for it.
  assert.deepEqual(shedByQueue({ ...P, queueThreshold: 1 }, load({ queue: 50 }), c), ['a', 'c', 'b']);
});

test('short of capacity: from shortAtUtilisation of 1e6/serviceMicros on; unknown capacity is always short', () => {
  assert.equal(shortOfCapacity(P, load({ capacityRps: 10_000, arrivalRps: 8_999 })), false);
  assert.equal(shortOfCapacity(P, load({ capacityRps: 10_000, arrivalRps: 9_000 })), true);
  assert.equal(shortOfCapacity(P, load({ capacityRps: null, arrivalRps: 1 })), true);
});

test('decide: capybara holds off below capacity, however skewed the rates and long the queue', () => {
  const skewed = load({ individualRps: 8_000, arrivalRps: 8_000, capacityRps: 10_000, queue: 100 });
  const c = conns(1_000, 500, 300).map((x) => ({ ...x, queued: 5 }));
  assert.equal(decide('capybara', P, skewed, c, 0, fresh).trigger, null);
  assert.equal(decide('reconnect', P, skewed, c, 0, fresh).trigger, null);
  // Reconnect resets by rate only: between threshold and threshold + ε with a long queue, nothing.
  const between = load({ individualRps: 5_800, arrivalRps: 5_800, capacityRps: 6_000, queue: 100 });
  assert.equal(decide('reconnect', P, between, c, 0, fresh).trigger, null);
  assert.equal(decide('capybara', P, between, c, 0, fresh).trigger, 'queue');
  // The same server at capacity sheds by rate.
  const short = decide('capybara', P, { ...skewed, capacityRps: 8_500 }, c, 0, fresh);
  assert.equal(short.trigger, 'rate');
  assert.deepEqual(short.cooldowns, { rateUntil: P.cooldownUs, queueUntil: 0 });
});

test('decide: reactive fires on queue length alone, balanced rates or not; lwrr never moves', () => {
  const balanced = load({ individualRps: 5_000, arrivalRps: 5_000, capacityRps: 4_000, queue: 30 });
  const c = conns(400, 600).map((x, i) => ({ ...x, queued: 15 - i }));
  const d = decide('reactive', { ...P, queueThreshold: 10, reactiveCooldownUs: 5_000 }, balanced, c, 1_000, fresh);
  assert.equal(d.trigger, 'queue');
  assert.deepEqual(d.keys, ['c1', 'c0']);
  assert.deepEqual(d.cooldowns, { rateUntil: 0, queueUntil: 6_000 });
  // Capybara's queue half is on only while the rate is over the threshold: balanced rates, nothing.
  assert.equal(decide('capybara', P, balanced, c, 1_000, fresh).trigger, null);
  assert.equal(decide('lwrr', P, { ...balanced, individualRps: 9_000, queue: 1_000 }, c, 1_000, fresh).trigger, null);
});

test('decide: capybara\'s queue half works between threshold and threshold + ε, and each half keeps its own cooldown', () => {
  // 5.8k of 10k: over 1.1 × fair (5.5k), under 1.2 × fair (6k): the rate half is quiet, the queue half may act.
  const between = load({ individualRps: 5_800, arrivalRps: 5_800, capacityRps: 6_000, queue: 25 });
  const c = conns(600, 400).map((x) => ({ ...x, queued: 10 }));
  const d = decide('capybara', P, between, c, 0, fresh);
  assert.equal(d.trigger, 'queue');
  assert.equal(decide('capybara', P, between, c, 5_000, d.cooldowns).trigger, null, 'queue cooldown');
  assert.equal(decide('capybara', P, between, c, P.reactiveCooldownUs, d.cooldowns).trigger, 'queue');
  // A rate cooldown does not silence the queue half.
  const over = { ...between, individualRps: 7_000 };
  assert.equal(decide('capybara', P, over, c, 0, { rateUntil: 50_000, queueUntil: 0 }).trigger, 'queue');
});

test('service queue: counts the requests waiting, per session, and hands a session\'s over in order', () => {
  const q = new ServiceQueue<string>(100);
  const bytes = (s: string) => new TextEncoder().encode(s);
  q.admit(0, 'a', bytes('1'), 2);
  q.admit(0, 'b', bytes('2'), 1);
  q.admit(0, 'a', bytes('3'), 3);
  assert.equal(q.length, 6);
  assert.deepEqual([q.queued('a'), q.queued('b')], [5, 1]);
  assert.deepEqual(q.due(200).map((r) => r.session), ['a']);
  assert.deepEqual([q.length, q.queued('a')], [4, 3]);
  q.admit(200, 'b', bytes('4'), 1);
  // In service order: b's first (ends at 300), a's 3 requests (600), b's second (700).
  const taken = q.takeFor(250, 'a');
  assert.deepEqual(taken.map((w) => [new TextDecoder().decode(w.reply), w.requests]), [['3', 3]]);
  assert.deepEqual([q.length, q.queued('a'), q.holds('a'), q.holds('b')], [2, 0, false, true]);
  // a's service time left with it: b's second request now ends at 400, not 700.
  assert.deepEqual(q.due(400).map((r) => new TextDecoder().decode(r.reply)), ['2', '4']);
  assert.equal(q.nextAt(), null);
});

test('service queue: requests that came with a migrated connection wait in line but are not the receive queue', () => {
  const q = new ServiceQueue<string>(100);
  const bytes = new Uint8Array(1);
  q.admit(0, 'moved', bytes, 4, true);
  q.admit(0, 'local', bytes, 1);
  q.admit(0, 'moved', bytes, 2);
  assert.deepEqual([q.length, q.receivedLength], [7, 3]);
  assert.deepEqual([q.queued('moved'), q.received('moved'), q.received('local')], [6, 2, 1]);
  // Served in the order admitted, imported or not.
  assert.deepEqual(q.due(400).map((r) => r.session), ['moved']);
  assert.deepEqual([q.length, q.receivedLength], [3, 3]);
  // Handed on again, a session takes its received requests with it.
  assert.equal(q.takeFor(400, 'moved').length, 1);
  assert.deepEqual([q.length, q.receivedLength, q.received('moved')], [1, 1, 0]);
});
