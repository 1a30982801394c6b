import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvModel } from '../node/check/kv-model.js';
import type { KvInput, KvOutput } from '../node/check/kv-model.js';
import { type Operation, checkLinearizable } from '../node/check/linearizability.js';
import { hotPathBackend } from '../node/crypto/signature.js';
import { signNewView, signVote } from '../node/hotstuff/auth.js';
import { hotstuffClient } from '../node/hotstuff/client.js';
import { HOTSTUFF_TYPE, hotstuffCodec } from '../node/hotstuff/codec.js';
import { type HotStuffFault, hotstuffByzantine } from '../node/hotstuff/faults.js';
import type { HotStuffMsg } from '../node/hotstuff/messages.js';
import { HotStuffReplica, LEADER_RUN } from '../node/hotstuff/replica.js';
import { garbageClient } from '../node/neobft/faults.js';
import type { Core } from '../node/runtime/core.js';
import { Driver } from '../node/runtime/driver.js';
import { SeededRandom } from '../node/runtime/random.js';
import { simBftTestbed } from './support/bft-sim.js';
import { mostCommon, restartWithEmptyState } from './support/restart-sweep.js';

interface Run {
  seed: number;
  n: number;
  f: number;
  loss: number;
  /** Replicas crashed, and when (µs); `leader` crashes the leader of the view most replicas run then. */
  crash?: { replica: number | 'leader'; at: number }[];
  /** A replica cut off from the others over this interval (µs). */
  isolate?: { replica: number; from: number; to: number };
  /** A replica restarting with empty state (crash at `at`, back `downUs` later). */
  restart?: { replica: number; at: number; downUs: number };
  /** One replica runs this Byzantine behaviour. */
  byzantine?: { replica: number; fault: HotStuffFault };
  /** An intruder sprays malformed requests at every replica. */
  intruder?: boolean;
  /** At 20 ms, an intruder sends forged votes and NEW-VIEWs with forged QCs to every replica. */
  forgeries?: boolean;
  requests?: number;
}

const CLIENTS = 3;

/** A seed to replay alone: HS_SEED=<seed> node --test dist/test/hotstuff-sim.test.js */
const ONLY = process.env.HS_SEED ? Number(process.env.HS_SEED) : null;
/** HS_SOAK=k runs every case on k times as many other seeds (from + 100 000 on), for a longer hunt. */
const SOAK = Number(process.env.HS_SOAK ?? 0);
const seeds = (from: number, count: number) => {
  if (ONLY !== null) return [ONLY];
  if (SOAK > 0) return Array.from({ length: count * SOAK }, (_, i) => 100_000 + from * SOAK + i);
  return Array.from({ length: count }, (_, i) => from + i);
};
const replay = (seed: number) => `replay: HS_SEED=${seed} node --test dist/test/hotstuff-sim.test.js`;

function run(o: Run) {
  const { seed, n, f, loss } = o;
  const { net, key, secrets, publicKeys, clientKeys, replicaIds } = simBftTestbed(seed, n, CLIENTS, loss);
  const history: Operation<KvInput, KvOutput>[] = [];
  const counters = { viewChanges: 0, stateTransfers: 0, batches: 0, fetched: 0, invalid: new Map<string, number>(), reasons: new Map<string, number>() };
  const replicas: HotStuffReplica[] = [];
  const faulty = o.byzantine?.replica ?? -1;
  // Committed block hash by height, over all correct replicas: two different ones are a safety violation.
  const committedAt = new Map<number, string>();
  const conflicts: string[] = [];
  const make = (i: number): Core<HotStuffMsg> => {
    const keys = { secret: secrets[i]!, publicKeys, backend: hotPathBackend };
    const replica = new HotStuffReplica({
      index: i, f, replicas: replicaIds, keys, clientKey: (c) => clientKeys[c]![i]!, clientNode: (c) => 100 + c, clients: CLIENTS,
      maxBatch: 8, batchDelayUs: 200, retryUs: 2000, viewTimeoutUs: 10_000,
    }, {
      executed() {}, viewStarted() {},
      batched: () => counters.batches++,
      invalid: (why) => counters.invalid.set(why, (counters.invalid.get(why) ?? 0) + 1),
      viewChanged: (view, why) => {
        counters.viewChanges++;
        counters.reasons.set(why, (counters.reasons.get(why) ?? 0) + 1);
        if (process.env.HS_TRACE) console.log(`replica ${i} view ${view}: ${why}`);
      },
      stateTransferred: () => counters.stateTransfers++,
      committed: (height) => {
        const hash = replica.committedHash(height);
        if (i === faulty || hash === undefined) return;
        const before = committedAt.get(height);
        if (before !== undefined && before !== hash) conflicts.push(`height ${height}: ${before.slice(0, 8)} and ${hash.slice(0, 8)} (replica ${i})`);
        committedAt.set(height, hash);
      },
    });
    replicas[i] = replica;
    if (i !== faulty) return replica;
    return hotstuffByzantine(replica, o.byzantine!.fault, keys, (c) => clientKeys[c]![i]!, key);
  };
  for (let i = 0; i < n; i++) net.addNode(10 + i, ({ transport, clock, scheduler }) => new Driver(make(i), hotstuffCodec, transport, clock, scheduler));
  const requests = o.requests ?? 30;
  const clients: ReturnType<typeof hotstuffClient>[] = [];
  const rejected = { replies: 0 };
  for (let c = 0; c < CLIENTS; c++) {
    const crng = new SeededRandom(seed * 17 + c);
    net.addNode(100 + c, ({ transport, clock, scheduler }) => {
      clients[c] = hotstuffClient({ client: c, f, replicas: replicaIds, keys: clientKeys[c]!, keySpace: 4, requests, retryUs: 5000 },
        crng, { completed: (op) => history.push(op), retried() {}, rejectedReply: () => rejected.replies++ });
      return new Driver(clients[c]!, hotstuffCodec, transport, clock, scheduler);
    });
  }
  const crashed = new Set<number>();
  for (const c of o.crash ?? []) {
    net.at(c.at, () => {
      const i = c.replica === 'leader' ? mostCommon(replicas.filter((_, k) => !crashed.has(k)).map((x) => x.currentView)) % n : c.replica;
      crashed.add(i);
      net.crash(10 + i);
    });
  }
  if (o.restart) restartWithEmptyState(net, { pick: () => 10 + o.restart!.replica, firstAt: o.restart.at, downUs: o.restart.downUs, times: 1, gapUs: 0 });
  if (o.isolate) {
    const { replica, from, to } = o.isolate;
    net.at(from, () => net.partition([10 + replica], replicaIds.filter((r) => r !== 10 + replica)));
    net.at(to, () => net.heal());
  }
  if (o.intruder) {
    const irng = new SeededRandom(seed * 31);
    for (const [k, target] of replicaIds.entries()) {
      net.addNode(90 + k, ({ transport, clock, scheduler }) => new Driver(garbageClient<HotStuffMsg>(target, (payload) => ({ type: 'request', payload }), irng), hotstuffCodec, transport, clock, scheduler));
      // Past the workload, it stops (its garbage costs the simulation, not the replicas).
      net.at(50_000, () => net.crash(90 + k));
    }
  }
  if (o.forgeries) {
    net.at(20_000, () => {
      const lies = forge(n, f, secrets, publicKeys, Math.max(...replicas.map((x) => x.currentView)));
      net.addNode(97, ({ transport }) => ({ start: () => lies.forEach(([to, b]) => transport.send(replicaIds[to]!, b)), stop() {} }));
    });
  }
  if (process.env.HS_TRACE) {
    for (let t = 10_000; t <= 1_500_000; t += 10_000) net.at(t, () => console.log(t, replicas.map((x) => x.debugLog()).join(' | '), history.length));
  }
  net.tap = (_from, to, bytes) => {
    if (bytes[1] === HOTSTUFF_TYPE['block-reply'] && to >= 10 && to < 10 + n) counters.fetched++;
  };
  net.runUntil(1_500_000);
  net.faults = { ...net.faults, loss: 0, duplicate: 0, reorder: 0 };
  net.runUntil(4_000_000);
  const pending = clients.flatMap((c) => (c.pending ? [c.pending] : []));
  const live = replicas.filter((_, i) => i !== faulty && !crashed.has(i));
  const lastReturn = Math.max(...history.map((op) => op.ret));
  return { history, pending, counters, replicas, live, expected: CLIENTS * requests, conflicts, rejected, lastReturn };
}

/**
 * Forged input, from an intruder holding replica 0's key (a Byzantine replica 0): to each
 * replica i, a vote in replica i+1's name signed with replica i+2's key, for a view whose next
 * leader i is; and to every other replica two NEW-VIEWs of replica 0 whose QCs are forged: 2f+1
 * copies of one replica's signature, and 2f+1 signatures that are garbage.
 */
function forge(n: number, f: number, secrets: Uint8Array[], publicKeys: Uint8Array[], from: number): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  const hash = new Uint8Array(32).fill(7);
  const replica0 = { secret: secrets[0]!, publicKeys, backend: hotPathBackend };
  const one = signVote(from, 0, hash, replica0);
  for (let to = 0; to < n; to++) {
    let view = from;
    while (Math.floor((view + 1) / LEADER_RUN) % n !== to) view++;
    const wrongKey = { secret: secrets[(to + 2) % n]!, publicKeys, backend: hotPathBackend };
    out.push([to, hotstuffCodec.encode(signVote(view, (to + 1) % n, hash, wrongKey))]);
    if (to === 0) continue;
    const repeated = { view: from, hash, votes: Array.from({ length: 2 * f + 1 }, () => ({ replica: 0, sig: one.sig })) };
    const garbage = { view: from, hash, votes: Array.from({ length: 2 * f + 1 }, (_, k) => ({ replica: k, sig: new Uint8Array(64).fill(k + 1) })) };
    for (const qc of [repeated, garbage]) out.push([to, hotstuffCodec.encode(signNewView({ type: 'new-view', view: from + 1, replica: 0, qc, sig: new Uint8Array() }, replica0))]);
  }
  return out;
}

function problemsOf(r: ReturnType<typeof run>): string[] {
  const problems: string[] = [];
  if (r.history.length !== r.expected) problems.push(`${r.history.length}/${r.expected} completed`);
  const lin = checkLinearizable(kvModel, [...r.history, ...r.pending]);
  if (!lin.linearizable) problems.push(`not linearizable: ${lin.counterexample?.slice(0, 3).join(' | ')}`);
  const states = new Set(r.live.map((x) => JSON.stringify(x.progressState)));
  if (states.size !== 1) problems.push(`live replicas differ: ${[...states].join(' / ')}\n${r.live.map((x) => x.debugLog()).join('\n')}`);
  problems.push(...r.conflicts);
  return problems;
}

/** Runs every seed, collecting each failing one with how to replay it. */
function sweep(t: { diagnostic(s: string): void }, name: string, list: number[], o: (seed: number) => Omit<Run, 'seed'>, extra?: (r: ReturnType<typeof run>) => string[]) {
  const failures: string[] = [];
  const started = Date.now();
  let viewChanges = 0;
  let transfers = 0;
  let lastReturn = 0;
  for (const seed of list) {
    const r = run({ seed, ...o(seed) });
    viewChanges += r.counters.viewChanges;
    transfers += r.counters.stateTransfers;
    lastReturn = Math.max(lastReturn, r.lastReturn);
    const problems = [...problemsOf(r), ...(extra?.(r) ?? [])];
    if (problems.length) failures.push(`${name}, seed ${seed}: ${problems.join('; ')} — ${replay(seed)}`);
  }
  t.diagnostic(`${name}: ${list.length} runs in ${((Date.now() - started) / 1000).toFixed(1)} s, ${viewChanges} view changes, ${transfers} state transfers, last return at ${(lastReturn / 1000).toFixed(0)} ms`);
  assert.deepEqual(failures, []);
}

test('HotStuff (f = 1 and f = 2) completes linearizable histories under 3 % loss, duplication and reordering', (t) => {
  sweep(t, 'n = 4', seeds(1, 40), () => ({ n: 4, f: 1, loss: 0.03, requests: 12 }));
  sweep(t, 'n = 7', seeds(101, 10), () => ({ n: 7, f: 2, loss: 0.03, requests: 10 }));
});

test('HotStuff with a crashed replica (f = 1): its views time out, every request completes', (t) => {
  sweep(t, 'replica crashed', seeds(201, 20), (seed) => ({ n: 4, f: 1, loss: 0.02, requests: 12, crash: [{ replica: seed % 4, at: 2_000 + (seed % 9) * 4_000 }] }));
});

test('HotStuff with a crashed leader: replica 1 crashed early and (f = 2) the leader of the running view at a chosen time', (t) => {
  sweep(t, 'leader crashed (n = 4)', seeds(301, 20), (seed) => ({ n: 4, f: 1, loss: 0.02, requests: 12, crash: [{ replica: 'leader', at: 3_000 + (seed % 7) * 3_000 }] }));
  sweep(t, 'replica 1 and the leader crashed (n = 7)', seeds(401, 8), (seed) => ({
    n: 7, f: 2, loss: 0.02, requests: 10, crash: [{ replica: 1, at: 500 }, { replica: 'leader', at: 5_000 + (seed % 5) * 3_000 }],
  }));
});

test('HotStuff: a replica partitioned away and healed catches up (blocks fetched by hash, or the state at a stable checkpoint)', (t) => {
  sweep(t, 'partitioned', seeds(501, 15), (seed) => ({
    n: 4, f: 1, loss: 0.01, requests: 16, isolate: { replica: seed % 4, from: 3_000 + (seed % 5) * 2_000, to: 40_000 + (seed % 4) * 10_000 },
  }), (r) => (r.counters.stateTransfers + r.counters.fetched > 0 ? [] : ['caught up neither by fetch nor by state transfer']));
});

test('HotStuff: a replica restarted with empty state rejoins (state transfer, then the chain) and ends like the others', (t) => {
  sweep(t, 'restarted', seeds(601, 40), (seed) => ({
    n: 4, f: 1, loss: 0.02, requests: 15, restart: { replica: seed % 4, at: 10_000 + (seed % 7) * 5_000, downUs: 2_000 + (seed % 5) * 3_000 },
  }));
});

const FAULTS: HotStuffFault[] = ['equivocating', 'corrupt-replies', 'wrong-results'];

test('HotStuff with one Byzantine replica (equivocating leader and voter, corrupt replies, wrong results) and an intruder spraying garbage', (t) => {
  for (const fault of FAULTS) {
    sweep(t, fault, seeds(701 + 100 * FAULTS.indexOf(fault), 12), (seed) => ({
      n: 4, f: 1, loss: 0.01, requests: 12, byzantine: { replica: seed % 4, fault }, intruder: seed % 2 === 0,
    }), (r) => (fault === 'corrupt-replies' && r.rejected.replies === 0 ? ['no reply refused by a client'] : []));
  }
  sweep(t, 'equivocating (n = 7)', seeds(1001, 4), (seed) => ({ n: 7, f: 2, loss: 0.01, requests: 10, byzantine: { replica: seed % 7, fault: 'equivocating' } }));
  sweep(t, 'intruder', seeds(1101, 5), () => ({ n: 4, f: 1, loss: 0.01, requests: 15, intruder: true }),
    (r) => ((r.counters.invalid.get('malformed-request') ?? 0) > 0 ? [] : ['no malformed request counted']));
});

test('HotStuff: a forged vote and NEW-VIEWs carrying forged QCs are refused and counted by every replica; the run stays healthy', (t) => {
  sweep(t, 'forgeries', seeds(1201, 5), () => ({ n: 4, f: 1, loss: 0, requests: 15, forgeries: true }), (r) => {
    const problems: string[] = [];
    if ((r.counters.invalid.get('bad-signature') ?? 0) < 4) problems.push(`forged votes refused ${r.counters.invalid.get('bad-signature') ?? 0} times`);
    if ((r.counters.invalid.get('bad-qc') ?? 0) < 6) problems.push(`forged QCs refused ${r.counters.invalid.get('bad-qc') ?? 0} times`);
    return problems;
  });
});
