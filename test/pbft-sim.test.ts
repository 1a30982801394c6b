import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvModel } from '../node/check/kv-model.js';
import { type Operation, checkLinearizable } from '../node/check/linearizability.js';
import type { KvInput, KvOutput } from '../node/check/kv-model.js';
import { hotPathBackend } from '../node/crypto/signature.js';
import { SimNetwork } from '../node/net/sim.js';
import { pbftClient } from '../node/pbft/client.js';
import { PBFT_TYPE, pbftCodec } from '../node/pbft/codec.js';
import { signPbft } from '../node/pbft/auth.js';
import type { Checkpoint } from '../node/pbft/messages.js';
import { PbftReplica } from '../node/pbft/replica.js';
import { pbftSimKeys } from '../node/pbft/sim-keys.js';
import { Driver } from '../node/runtime/driver.js';
import { SeededRandom } from '../node/runtime/random.js';
import { encodeKvRequest } from '../node/apps/kv.js';
import { restartClientMidway, restartProblems } from './support/client-restart.js';
import { mostCommon, restartWithEmptyState } from './support/restart-sweep.js';

interface Run {
  seed: number;
  n: number;
  f: number;
  loss: number;
  /** Replicas crashed, and when (µs). */
  crash?: { replica: number; at: number }[];
  /** A replica cut off from the others over this interval (µs). */
  isolate?: { replica: number; from: number; to: number };
  requests?: number;
  /** Every replica takes this long per datagram (the simulated-capacity mode): a loaded machine. */
  busyUs?: number;
  /** Replica n − 1 is Byzantine: at 20 ms it signs this many CHECKPOINTs for made-up sequence numbers to replica 0. */
  checkpointSpam?: number;
  /** At this time (µs) every replica gets a well-formed request in the name of a client the testbed does not have. */
  forgedClientAt?: number;
  /** Client 0 crashes after this many operations and restarts with empty state 20 ms later. */
  restartClientAfter?: number;
  /** Replicas restarting with empty state: `pick` names one by index (given the replicas as they are then). */
  restarts?: { pick: (replicas: readonly PbftReplica[]) => number; firstAt: number; downUs: number; times: number; gapUs: number };
}

const CLIENTS = 3;

function run(o: Run) {
  const { seed, n, f, loss } = o;
  const net = new SimNetwork(seed, { delayUs: 50, jitterUs: 30, loss, duplicate: loss, reorder: loss, reorderWindowUs: 300 });
  // Datagrams sent, by message type (the byte after the magic).
  const traffic = new Map<number, number>();
  net.tap = (_from, _to, bytes) => traffic.set(bytes[1]!, (traffic.get(bytes[1]!) ?? 0) + 1);
  const rng = new SeededRandom(seed);
  const key = () => Uint8Array.from({ length: 32 }, () => rng.int(256));
  const { pairs, secrets, publicKeys, clientKeys } = pbftSimKeys(key, n, CLIENTS);
  const replicaIds = Array.from({ length: n }, (_, i) => 10 + i);
  const history: Operation<KvInput, KvOutput>[] = [];
  const counters = { viewChanges: 0, stateTransfers: 0, batches: 0, invalid: new Map<string, number>() };
  const replicas: PbftReplica[] = [];
  // Each boot makes the replica afresh: a restart starts it with empty state.
  const make = (i: number) => {
    replicas[i] = new PbftReplica({
      index: i, f, replicas: replicaIds, pairKeys: pairs[i]!, keys: { secret: secrets[i]!, publicKeys, backend: hotPathBackend },
      clientKey: (c) => clientKeys[c]![i]!, clientNode: (c) => 100 + c, clients: CLIENTS, maxBatch: n === 1 ? 1 : 8, batchDelayUs: 200, retryUs: 2000, viewChangeUs: 20_000,
    }, {
      executed() {}, checkpointStable() {}, viewStarted() {},
      batched: () => counters.batches++,
      invalid: (why) => counters.invalid.set(why, (counters.invalid.get(why) ?? 0) + 1),
      viewChanged: () => counters.viewChanges++,
      stateTransferred: () => counters.stateTransfers++,
    });
    return replicas[i]!;
  };
  for (let i = 0; i < n; i++) {
    net.addNode(10 + i, ({ transport, clock, scheduler }) => new Driver(make(i), pbftCodec, transport, clock, scheduler));
    if (o.busyUs) net.setCapacity(10 + i, { serviceUs: o.busyUs, queueLimit: 10_000 });
  }
  const requests = o.requests ?? 60;
  const clients: ReturnType<typeof pbftClient>[] = [];
  // What a crashed client left unanswered: it may or may not take effect.
  const abandoned: Operation<KvInput, KvOutput>[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const rng = new SeededRandom(seed * 17 + c);
    net.addNode(100 + c, ({ transport, clock, scheduler }) => {
      if (clients[c]?.pending) abandoned.push(clients[c]!.pending!);
      clients[c] = pbftClient({ client: c, f, replicas: replicaIds, keys: clientKeys[c]!, keySpace: 4, requests, retryUs: 5000 },
        rng, { completed: (op) => history.push(op), retried() {}, rejectedReply() {} });
      return new Driver(clients[c]!, pbftCodec, transport, clock, scheduler);
    });
  }
  const restart = o.restartClientAfter === undefined ? null : restartClientMidway(net, 100, history, o.restartClientAfter, 20_000);
  if (o.forgedClientAt !== undefined) {
    const forged = pbftCodec.encode({ type: 'request', payload: encodeKvRequest({ client: 60_000, requestId: 7, op: { op: 'put', key: 'k0', value: 'forged' } }) });
    net.at(o.forgedClientAt, () => net.addNode(98, ({ transport }) => ({ start: () => replicaIds.forEach((r) => transport.send(r, forged)), stop() {} })));
  }
  for (const c of o.crash ?? []) net.at(c.at, () => net.crash(10 + c.replica));
  if (o.restarts) restartWithEmptyState(net, { ...o.restarts, pick: () => 10 + o.restarts!.pick(replicas) });
  if (o.checkpointSpam) {
    const liar = n - 1;
    const lies = Array.from({ length: o.checkpointSpam }, (_, k) => pbftCodec.encode(signPbft<Checkpoint>({
      type: 'checkpoint', seq: 16 * (k + 1000), replica: liar, digest: key(), sig: new Uint8Array(),
    }, { secret: secrets[liar]!, publicKeys, backend: hotPathBackend })));
    net.at(20_000, () => net.addNode(99, ({ transport }) => ({ start: () => lies.forEach((b) => transport.send(10, b)), stop() {} })));
  }
  if (o.isolate) {
    const { replica, from, to } = o.isolate;
    net.at(from, () => net.partition([10 + replica], replicaIds.filter((r) => r !== 10 + replica)));
    net.at(to, () => net.heal());
  }
  if (process.env.PB_TRACE) for (let t = 10_000; t <= 1_500_000; t += 10_000) net.at(t, () => console.log(t, replicas.map((x) => JSON.stringify(x.currentView) + ' ' + x.progressState.executed).join(' | '), history.length, counters.viewChanges));
  net.runUntil(1_500_000);
  net.faults = { ...net.faults, loss: 0, duplicate: 0, reorder: 0 };
  net.runUntil(4_000_000);
  const pending = [...abandoned, ...clients.flatMap((c) => (c.pending ? [c.pending] : []))];
  const live = replicas.filter((_, i) => !(o.crash ?? []).some((c) => c.replica === i));
  const lastReturn = Math.max(...history.map((op) => op.ret));
  return { history, pending, counters, replicas, live, expected: CLIENTS * requests, lastReturn, traffic, restartAt: restart?.restartAt ?? null };
}

function assertHealthy(what: string, r: ReturnType<typeof run>) {
  assert.equal(r.history.length, r.expected, `${what}: ${r.history.length}/${r.expected} completed`);
  const lin = checkLinearizable(kvModel, [...r.history, ...r.pending]);
  assert.ok(lin.linearizable, `${what}: not linearizable: ${lin.counterexample?.slice(0, 3).join(' | ')}`);
  // Every live replica ends with the same state, having executed the same batches.
  const states = new Set(r.live.map((x) => JSON.stringify(x.progressState)));
  assert.equal(states.size, 1, `${what}: live replicas differ: ${[...states].join(' / ')}\n${r.live.map((x) => `${JSON.stringify(x.currentView)} ${x.debugLog()}`).join('\n')}`);
}

test('PBFT (f = 1) and the unreplicated server complete linearizable histories under loss, duplication and reordering', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    for (const [n, f] of [[4, 1], [1, 0]] as const) {
      const r = run({ seed, n, f, loss: 0.03 });
      assertHealthy(`seed ${seed}, n = ${n}`, r);
      assert.equal(r.counters.viewChanges, 0, `seed ${seed}, n = ${n}: a view change without a fault`);
      // The log stays bounded: checkpoints (or, alone, execution) release what was executed.
      for (const x of r.live) assert.ok(x.instances <= 4 * 16 + 2, `seed ${seed}, n = ${n}: ${x.instances} instances held after ${r.expected} requests`);
    }
  }
});

test('a slow PBFT run (each replica busy 100 µs per datagram) sends each phase about once per batch: batches in flight are not retransmitted', () => {
  const r = run({ seed: 1, n: 4, f: 1, loss: 0, requests: 100, busyUs: 100 });
  assertHealthy('slow replicas', r);
  const batches = r.counters.batches;
  const prePrepares = r.traffic.get(PBFT_TYPE['pre-prepare']) ?? 0;
  const commits = r.traffic.get(PBFT_TYPE.commit) ?? 0;
  // n − 1 copies of each pre-prepare, n(n − 1) commits per batch; a tenth more for the odd resend.
  assert.ok(prePrepares <= 1.1 * 3 * batches, `${prePrepares} PRE-PREPARE datagrams for ${batches} batches`);
  assert.ok(commits <= 1.1 * 12 * batches, `${commits} COMMIT datagrams for ${batches} batches`);
});

test('a Byzantine replica spraying signed CHECKPOINTs for made-up sequence numbers makes a replica keep three of them, not one per lie', () => {
  const r = run({ seed: 3, n: 4, f: 1, loss: 0, requests: 100, checkpointSpam: 500 });
  assertHealthy('checkpoint spam', r);
  const kept = [...r.replicas[0]!.checkpoint['received'].values()].filter((by) => by.has(3)).length;
  assert.ok(kept <= 3, `${kept} checkpoints of the liar kept`);
});

test('PBFT view change: a crashed primary is replaced and every request completes, linearizable, over 40 seeds (2 % loss, duplication, reordering)', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const at = 5_000 + (seed % 9) * 4_000;
    const r = run({ seed, n: 4, f: 1, loss: 0.02, crash: [{ replica: 0, at }], requests: 120 });
    const what = `seed ${seed} (primary crashed at ${at / 1000} ms)`;
    assertHealthy(what, r);
    assert.ok(r.live.every((x) => x.currentView.view >= 1 && x.currentView.active), `${what}: views ${r.live.map((x) => JSON.stringify(x.currentView))}`);
  }
});

test('PBFT view change under heavy loss (10 %): batches prepared at only some replicas when the primary fails are carried into the new view, over 20 seeds', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const at = 3_000 + (seed % 7) * 3_000;
    const r = run({ seed, n: 4, f: 1, loss: 0.1, crash: [{ replica: 0, at }], requests: 80 });
    assertHealthy(`seed ${seed} (primary crashed at ${at / 1000} ms)`, r);
  }
});

test('PBFT view change with f = 2: two primaries crash one after the other, and view 2 takes over', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = run({ seed, n: 7, f: 2, loss: 0.01, crash: [{ replica: 0, at: 10_000 }, { replica: 1, at: 10_000 }], requests: 120 });
    assertHealthy(`seed ${seed}`, r);
    assert.ok(r.live.every((x) => x.currentView.view >= 2), `seed ${seed}: views ${r.live.map((x) => x.currentView.view)} (last return ${r.lastReturn})`);
  }
});

test('PBFT checkpoints: a replica cut off past a stable checkpoint catches up by state transfer', () => {
  for (const seed of [1, 2, 3]) {
    const r = run({ seed, n: 4, f: 1, loss: 0, isolate: { replica: 3, from: 5_000, to: 80_000 }, requests: 300 });
    assertHealthy(`seed ${seed}`, r);
    assert.ok(r.counters.stateTransfers >= 1, `seed ${seed}: no state transfer (last return ${r.lastReturn})`);
    assert.equal(r.counters.viewChanges, 0, `seed ${seed}: a view change though the primary was fine`);
  }
});

test('a request in the name of a client the testbed does not have is refused and counted by every replica, executed by none; the run stays healthy', () => {
  for (const [n, f] of [[4, 1], [1, 0]] as const) {
    const r = run({ seed: 5, n, f, loss: 0.02, forgedClientAt: 30_000 });
    assertHealthy(`n = ${n}`, r);
    assert.ok((r.counters.invalid.get('unknown-client') ?? 0) >= n, `n = ${n}: refusals ${JSON.stringify([...r.counters.invalid])}`);
    assert.ok(r.replicas.every((x) => x['store'].lastOf(60_000) === undefined), `n = ${n}: a replica executed it`);
  }
});

test('a client that crashes and restarts with empty state completes its requests again (request ids never repeat), PBFT and the unreplicated server, 10 seeds', () => {
  for (let seed = 1; seed <= 10; seed++) {
    for (const [n, f] of [[4, 1], [1, 0]] as const) {
      const r = run({ seed, n, f, loss: 0.02, requests: 80, restartClientAfter: 5 + 3 * seed });
      const what = `seed ${seed}, n = ${n}`;
      const lin = checkLinearizable(kvModel, [...r.history, ...r.pending]);
      assert.ok(lin.linearizable, `${what}: not linearizable: ${lin.counterexample?.slice(0, 3).join(' | ')}`);
      assert.deepEqual(restartProblems(r.history, { clients: CLIENTS, requests: 80, restartAt: r.restartAt! }), [], what);
    }
  }
});

const RESTART_SEEDS = process.env.PB_SEED ? [Number(process.env.PB_SEED)] : Array.from({ length: 200 }, (_, i) => i + 1);

/**
 * Issue 18: a replica restarted by Kubernetes comes back with empty state in view 0. Per seed,
 * under loss, duplication and reordering, while the clients are busy (the last restart is over
 * by 88 ms and the workload lasts beyond that: an idle replica learns the view only from the
 * next normal-case traffic), a replica — the primary of the view then on every other seed —
 * crashes and boots again with nothing, twice on every third seed. It joins the
 * view f+1 others show and takes the state at their next stable checkpoint; once faults stop
 * every request completes, the history is linearizable and every replica that executed as many
 * batches holds the same state.
 */
test(`PBFT: a replica (the primary too) restarting with empty state, once or twice, under loss and reordering, over ${RESTART_SEEDS.length} seeds`, (t) => {
  const failures: string[] = [];
  let transfers = 0;
  for (const seed of RESTART_SEEDS) {
    const primary = seed % 2 === 0;
    const times = seed % 3 === 0 ? 2 : 1;
    const r = run({
      seed, n: 4, f: 1, loss: 0.02, requests: 120,
      restarts: {
        pick: (replicas) => (primary ? mostCommon(replicas.map((x) => x.currentView.view)) % 4 : 1 + (seed % 3)),
        firstAt: 10_000 + (seed % 7) * 5_000, downUs: 2_000 + (seed % 5) * 3_000, times, gapUs: 20_000,
      },
    });
    transfers += r.counters.stateTransfers;
    const problems: string[] = [];
    if (r.history.length !== r.expected) problems.push(`${r.history.length}/${r.expected} completed`);
    if (!checkLinearizable(kvModel, [...r.history, ...r.pending]).linearizable) problems.push('not linearizable');
    const byExecuted = new Map<number, string>();
    for (const x of r.replicas) {
      const { executed, contents } = x.progressState;
      if ((byExecuted.get(executed) ?? contents) !== contents) problems.push(`states differ after ${executed} batches`);
      byExecuted.set(executed, contents);
    }
    const views = new Set(r.replicas.map((x) => x.currentView.view));
    if (views.size !== 1) problems.push(`replicas end in views ${[...views].join(', ')}`);
    if (problems.length) failures.push(`seed ${seed} (${primary ? 'primary' : 'backup'} restarted ${times}×): ${problems.join('; ')} — replay: PB_SEED=${seed} node scripts/run-tests.mjs pbft-sim`);
  }
  t.diagnostic(`${RESTART_SEEDS.length} runs, ${transfers} state transfers`);
  assert.deepEqual(failures, []);
});
