import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeKvRequest } from '../node/apps/kv.js';
import { kvModel } from '../node/check/kv-model.js';
import type { KvInput, KvOutput } from '../node/check/kv-model.js';
import { type Operation, checkLinearizable } from '../node/check/linearizability.js';
import { hotPathBackend } from '../node/crypto/signature.js';
import { garbageClient } from '../node/neobft/faults.js';
import type { Core } from '../node/runtime/core.js';
import { Driver } from '../node/runtime/driver.js';
import { SeededRandom } from '../node/runtime/random.js';
import { batchDigest, extend, signMsg, signOrder } from '../node/zyzzyva/auth.js';
import { zyzzyvaClient } from '../node/zyzzyva/client.js';
import { zyzzyvaCodec } from '../node/zyzzyva/codec.js';
import { zyzzyvaByzantine } from '../node/zyzzyva/faults.js';
import { EMPTY_HISTORY, type IHateThePrimary, type OrderReq, type OrderedEntry, type ZyzzyvaMsg } from '../node/zyzzyva/messages.js';
import { type CheckedChange, planNewView } from '../node/zyzzyva/new-view.js';
import { ZyzzyvaReplica } from '../node/zyzzyva/replica.js';
import { simBftTestbed } from './support/bft-sim.js';
import { mostCommon, restartWithEmptyState } from './support/restart-sweep.js';

type Fault = 'equivocating' | 'corrupt-replies' | 'wrong-results';

interface Run {
  seed: number;
  f: number;
  loss: number;
  requests?: number;
  crash?: { replica: number; at: number }[];
  isolate?: { replica: number; from: number; to: number };
  restarts?: { pick: (replicas: readonly ZyzzyvaReplica[]) => number; firstAt: number; downUs: number; times: number; gapUs: number };
  byzantine?: { replica: number; fault: Fault };
  /** An intruder sprays malformed requests at the primary. */
  intruder?: boolean;
  /** At 20 ms, forged messages reach every replica: bad signatures, and a request of a client the testbed does not have. */
  forged?: boolean;
}

const CLIENTS = 3;
const SEED = process.env.ZY_SEED ? Number(process.env.ZY_SEED) : null;
const replay = (seed: number) => `replay: ZY_SEED=${seed} node scripts/run-tests.mjs zyzzyva-sim`;

function run(o: Run) {
  const { seed, f, loss } = o;
  const n = 3 * f + 1;
  const { net, rng, key, secrets, publicKeys, clientKeys, replicaIds } = simBftTestbed(seed, n, CLIENTS, loss);
  const history: Operation<KvInput, KvOutput>[] = [];
  const counters = { viewChanges: 0, stateTransfers: 0, rolledBack: 0, fast: 0, twoPhase: 0, invalid: new Map<string, number>(), reasons: new Set<string>() };
  const replicas: ZyzzyvaReplica[] = [];
  const faulty = o.byzantine?.replica ?? -1;
  /** h_n each correct replica committed, by n: two must never differ. */
  const committed = new Map<number, string>();
  const divergence: string[] = [];
  const keysOf = (i: number) => ({ secret: secrets[i]!, publicKeys, backend: hotPathBackend });
  const make = (i: number): Core<ZyzzyvaMsg> => {
    const replica: ZyzzyvaReplica = new ZyzzyvaReplica({
      index: i, f, replicas: replicaIds, keys: keysOf(i), pairKeys: [], clientKey: (c) => clientKeys[c]![i]!, clientNode: (c) => 100 + c, clients: CLIENTS,
      maxBatch: 8, batchDelayUs: 200, retryUs: 2000, viewChangeUs: 20_000,
    }, {
      executed() {}, batched() {}, viewStarted() {},
      invalid: (why) => counters.invalid.set(why, (counters.invalid.get(why) ?? 0) + 1),
      viewChanged: (_v, why) => {
        counters.viewChanges++;
        counters.reasons.add(why);
      },
      stateTransferred: () => counters.stateTransfers++,
      rolledBack: (k) => (counters.rolledBack += k),
      committed: (seq) => {
        if (i === faulty) return;
        const h = replica.historyAt(seq)!;
        if ((committed.get(seq) ?? h) !== h) divergence.push(`replica ${i} committed another h_${seq}`);
        committed.set(seq, h);
      },
    });
    replicas[i] = replica;
    if (i !== faulty) return replica;
    return zyzzyvaByzantine(replica, o.byzantine!.fault, keysOf(i), (c) => clientKeys[c]![i]!, () => Uint8Array.from({ length: 64 }, () => rng.int(256)));
  };
  for (let i = 0; i < n; i++) net.addNode(10 + i, ({ transport, clock, scheduler }) => new Driver(make(i), zyzzyvaCodec, transport, clock, scheduler));
  const requests = o.requests ?? 20;
  const clients: ReturnType<typeof zyzzyvaClient>[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const crng = new SeededRandom(seed * 17 + c);
    net.addNode(100 + c, ({ transport, clock, scheduler }) => {
      clients[c] = zyzzyvaClient({
        client: c, f, replicas: replicaIds, keys: clientKeys[c]!, publicKeys, backend: hotPathBackend, keySpace: 4, requests, retryUs: 5000, commitTimeoutUs: 1500,
      }, crng, {
        completed: (op) => history.push(op), retried() {}, rejectedReply: (why) => counters.invalid.set(`client-${why}`, (counters.invalid.get(`client-${why}`) ?? 0) + 1), fastPath: () => counters.fast++, twoPhase: () => counters.twoPhase++,
      });
      return new Driver(clients[c]!, zyzzyvaCodec, transport, clock, scheduler);
    });
  }
  for (const c of o.crash ?? []) net.at(c.at, () => net.crash(10 + c.replica));
  if (o.isolate) {
    const { replica, from, to } = o.isolate;
    net.at(from, () => net.partition([10 + replica], replicaIds.filter((r) => r !== 10 + replica)));
    net.at(to, () => net.heal());
  }
  if (o.restarts) restartWithEmptyState(net, { ...o.restarts, pick: () => 10 + o.restarts!.pick(replicas) });
  if (o.intruder) {
    const irng = new SeededRandom(seed ^ 0x1badd);
    net.addNode(97, ({ transport, clock, scheduler }) => new Driver(garbageClient<ZyzzyvaMsg>(10, (payload) => ({ type: 'request', payload }), irng), zyzzyvaCodec, transport, clock, scheduler));
  }
  if (o.forged) {
    // Signed with a key that is not the claimed replica's, and a request in the name of no client.
    const wrong = { secret: key(), publicKeys, backend: hotPathBackend };
    const forged: ZyzzyvaMsg[] = [
      signOrder<OrderReq>({ type: 'order-req', view: 0, seq: 1, history: key(), digest: key(), sig: new Uint8Array(), batch: [] }, wrong),
      signMsg<IHateThePrimary>({ type: 'i-hate-the-primary', view: 0, replica: 1, sig: new Uint8Array() }, wrong),
      { type: 'commit', client: 0, requestId: 1, cc: [] },
      { type: 'request', payload: encodeKvRequest({ client: 60_000, requestId: 7, op: { op: 'put', key: 'k0', value: 'forged' } }) },
    ];
    const bytes = forged.map((m) => zyzzyvaCodec.encode(m));
    net.at(20_000, () => net.addNode(98, ({ transport }) => ({ start: () => replicaIds.forEach((r) => bytes.forEach((b) => transport.send(r, b))), stop() {} })));
  }
  if (process.env.ZY_TRACE) for (let t = 10_000; t <= 3_000_000; t += 50_000) net.at(t, () => console.log(t, replicas.map((x) => `${JSON.stringify(x.currentView)} ${x.debugLog()}`).join(' | '), history.length, JSON.stringify([...counters.invalid]), counters.fast, counters.twoPhase, JSON.stringify(clients.map((c) => c.pending)), JSON.stringify(replicas.map((x) => [0, 1, 2].map((c) => [x.store.lastOf(c), x.agreement.responseOf(c, x.store.lastOf(c)?.requestId ?? -1)?.response.seq])))));
  net.runUntil(1_000_000);
  net.faults = { ...net.faults, loss: 0, duplicate: 0, reorder: 0 };
  net.runUntil(3_000_000);
  const pending = clients.flatMap((c) => (c.pending ? [c.pending] : []));
  const down = new Set((o.crash ?? []).map((c) => c.replica));
  const live = replicas.filter((_, i) => !down.has(i) && i !== faulty);
  return { history, pending, counters, replicas, live, expected: CLIENTS * requests, divergence };
}

/** What is wrong with a run: every operation completed, linearizable, live correct replicas alike, committed prefixes agree. */
function problems(r: ReturnType<typeof run>): string[] {
  const out: string[] = [...r.divergence];
  if (r.history.length !== r.expected) out.push(`${r.history.length}/${r.expected} completed`);
  const lin = checkLinearizable(kvModel, [...r.history, ...r.pending]);
  if (!lin.linearizable) out.push(`not linearizable: ${lin.counterexample?.slice(0, 3).join(' | ')}`);
  const states = new Set(r.live.map((x) => JSON.stringify(x.progressState)));
  if (states.size !== 1) out.push(`live replicas differ: ${r.live.map((x) => `${JSON.stringify(x.currentView)} ${x.debugLog()}`).join(' / ')}`);
  return out;
}

/** Runs `cases` (one per seed), collecting each failing seed with its problems and a replay command. */
function sweep(seeds: number[], one: (seed: number) => { r: ReturnType<typeof run>; extra?: string[] }): ReturnType<typeof run>[] {
  const failures: string[] = [];
  const runs: ReturnType<typeof run>[] = [];
  for (const seed of SEED === null ? seeds : seeds.filter((s) => s === SEED)) {
    const { r, extra = [] } = one(seed);
    runs.push(r);
    const p = [...problems(r), ...extra];
    if (p.length) failures.push(`seed ${seed}: ${p.join('; ')} — ${replay(seed)}`);
  }
  assert.deepEqual(failures, []);
  return runs;
}

/** `count` seeds from `from`; ZY_MORE=k runs k times as many (a longer sweep, by hand). */
const seeds = (from: number, count: number) => Array.from({ length: count * Number(process.env.ZY_MORE ?? 1) }, (_, i) => from + i);

test('Zyzzyva (f = 1 and f = 2) under loss, duplication and reordering (3 %): linearizable, replicas alike, mostly on the fast path', () => {
  const runs = sweep(seeds(1, 40), (seed) => {
    const r = run({ seed, f: seed % 4 === 0 ? 2 : 1, loss: 0.03 });
    return { r, extra: r.counters.viewChanges ? [`${r.counters.viewChanges} view changes`] : [] };
  });
  const fast = runs.reduce((k, r) => k + r.counters.fast, 0);
  const two = runs.reduce((k, r) => k + r.counters.twoPhase, 0);
  assert.ok(fast > 0 && fast >= two, `${fast} fast, ${two} two-phase`);
});

test('Zyzzyva fault-free: every operation completes on the fast path', () => {
  const runs = sweep(seeds(1, 10), (seed) => ({ r: run({ seed, f: 1 + (seed % 2), loss: 0 }) }));
  for (const r of runs) assert.equal(r.counters.twoPhase, 0);
});

test('Zyzzyva with a crashed backup: every operation after the crash completes in two phases (commit certificates)', () => {
  const runs = sweep(seeds(1, 24), (seed) => ({ r: run({ seed, f: seed % 5 === 0 ? 2 : 1, loss: 0.01, crash: [{ replica: 1 + (seed % 3), at: 0 }] }) }));
  for (const r of runs) assert.ok(r.counters.fast === 0 && r.counters.twoPhase === r.expected, `${r.counters.fast} fast, ${r.counters.twoPhase} two-phase`);
});

test('Zyzzyva view change: a crashed primary is hated (I-HATE-THE-PRIMARY), replaced, and every operation completes after', () => {
  const runs = sweep(seeds(1, 30), (seed) => {
    const f = seed % 6 === 0 ? 2 : 1;
    const r = run({ seed, f, loss: 0.02, requests: 30, crash: [{ replica: 0, at: 1_000 + (seed % 9) * 500 }] });
    const views = r.live.filter((x) => x.currentView.view < 1 || !x.currentView.active);
    return { r, extra: views.length ? [`views ${r.live.map((x) => JSON.stringify(x.currentView))}`] : [] };
  });
  assert.ok(runs.every((r) => r.counters.reasons.has('i-hate-the-primary')));
});

test('Zyzzyva: a replica cut off from the others catches up when healed (FILL-HOLE, state transfer past a stable checkpoint)', () => {
  const runs = sweep(seeds(1, 10), (seed) => ({ r: run({ seed, f: 1, loss: 0.01, requests: 60, isolate: { replica: 1 + (seed % 3), from: 3_000, to: 30_000 + (seed % 4) * 10_000 } }) }));
  assert.ok(runs.some((r) => r.counters.stateTransfers > 0), 'no state transfer in any run');
});

test('Zyzzyva: a replica (the primary on every other seed) restarting with empty state rejoins, once or twice', () => {
  sweep(seeds(1, 34), (seed) => {
    const primary = seed % 2 === 0;
    const r = run({
      seed, f: 1, loss: 0.02, requests: 40,
      restarts: {
        pick: (replicas) => (primary ? mostCommon(replicas.map((x) => x.currentView.view)) % 4 : 1 + (seed % 3)),
        firstAt: 5_000 + (seed % 7) * 3_000, downUs: 2_000 + (seed % 5) * 2_000, times: seed % 3 === 0 ? 2 : 1, gapUs: 15_000,
      },
    });
    const views = new Set(r.replicas.map((x) => x.currentView.view));
    return { r, extra: views.size === 1 ? [] : [`replicas end in views ${[...views].join(', ')}`] };
  });
});

test('Zyzzyva: an equivocating primary is caught by a client (POM) and replaced; speculative batches off the new history roll back', () => {
  const runs = sweep(seeds(1, 15), (seed) => {
    const r = run({ seed, f: seed % 5 === 0 ? 2 : 1, loss: 0.01, requests: 30, byzantine: { replica: 0, fault: 'equivocating' } });
    const stuck = r.live.filter((x) => x.currentView.view < 1);
    return { r, extra: stuck.length ? [`views ${r.live.map((x) => JSON.stringify(x.currentView))}`] : [] };
  });
  assert.ok(runs.every((r) => r.counters.reasons.has('proof-of-misbehaviour')), 'a run without a POM');
  assert.ok(runs.some((r) => r.counters.rolledBack > 0), 'nothing rolled back in any run');
});

for (const fault of ['equivocating', 'corrupt-replies', 'wrong-results'] as const) {
  test(`Zyzzyva: a Byzantine backup (${fault}) cannot stop or mislead the clients (they complete in two phases)`, () => {
    const runs = sweep(seeds(1, 12), (seed) => ({ r: run({ seed, f: 1 + (seed % 4 === 0 ? 1 : 0), loss: 0.01, byzantine: { replica: 1 + (seed % 3), fault } }) }));
    assert.ok(runs.every((r) => r.counters.fast === 0 || fault === 'equivocating'), 'a fast-path completion with a lying backup');
  });
}

test('Zyzzyva: an intruder spraying malformed requests, and forged messages (bad signatures, an unknown client, an empty certificate), are refused and counted', () => {
  const runs = sweep(seeds(1, 12), (seed) => ({ r: run({ seed, f: 1, loss: 0.01, intruder: true, forged: seed % 2 === 0 }) }));
  for (const r of runs) assert.ok((r.counters.invalid.get('malformed-request') ?? 0) > 0, JSON.stringify([...r.counters.invalid]));
  for (const r of runs.filter((_, i) => (i + 1) % 2 === 0)) {
    for (const why of ['bad-signature', 'unknown-client', 'bad-commit-certificate']) assert.ok((r.counters.invalid.get(why) ?? 0) >= 3, `${why}: ${JSON.stringify([...r.counters.invalid])}`);
    assert.ok(r.replicas.every((x) => x.store.lastOf(60_000) === undefined));
  }
});

test('Zyzzyva view change with f = 2: the primaries of views 0 and 1 both crash, and view 2 takes over', () => {
  sweep(seeds(1, 5), (seed) => {
    const r = run({ seed, f: 2, loss: 0.01, requests: 30, crash: [{ replica: 0, at: 2_000 }, { replica: 1, at: 2_000 }] });
    return { r, extra: r.live.every((x) => x.currentView.view >= 2) ? [] : [`views ${r.live.map((x) => JSON.stringify(x.currentView))}`] };
  });
});

test('the NEW-VIEW rule: the highest checkpoint, the highest commit certificate, then batches f+1 VIEW-CHANGEs hold', () => {
  const f = 1;
  const b = (k: number) => [new Uint8Array([k])];
  const chainOf = (from: { seq: number; history: Uint8Array }, batches: Uint8Array[][]) => {
    let h = from.history;
    return batches.map((batch, i) => ({ seq: from.seq + 1 + i, view: 0, history: (h = extend(h, batchDigest(batch))), batch }));
  };
  const change = (replica: number, entries: OrderedEntry[], cc: CheckedChange['cc'] = null): CheckedChange => ({
    replica, base: { seq: 0, history: EMPTY_HISTORY, digest: new Uint8Array(32), proof: [] }, chain: new Map(entries.map((e) => [e.seq, e])), cc,
  });
  const common = chainOf({ seq: 0, history: EMPTY_HISTORY }, [b(1), b(2)]);
  const forked = chainOf({ seq: 2, history: common[1]!.history }, [b(9)]);
  const held = chainOf({ seq: 2, history: common[1]!.history }, [b(3)]);
  // Batch 3 is held by two (f+1) VIEW-CHANGEs: it stays; the fork held by one goes.
  let plan = planNewView([change(0, [...common, ...held]), change(1, [...common, ...held]), change(2, [...common, ...forked])], f);
  assert.deepEqual(plan.entries.map((e) => e.batch[0]![0]), [1, 2, 3]);
  // Held by one only, but certified (a commit certificate in its VIEW-CHANGE): it stays.
  plan = planNewView([change(0, common), change(1, common), change(2, [...common, ...forked], { seq: 3, history: forked[0]!.history })], f);
  assert.deepEqual(plan.entries.map((e) => e.batch[0]![0]), [1, 2, 9]);
  // Held by one only, uncertified: it goes (a request completes only once 2f+1 replicas executed it).
  plan = planNewView([change(0, common.slice(0, 1)), change(1, common.slice(0, 1)), change(2, [...common, ...forked])], f);
  assert.deepEqual(plan.entries.map((e) => e.batch[0]![0]), [1]);
});
