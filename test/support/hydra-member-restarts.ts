import type { Operation } from '../../node/check/linearizability.js';
import { checkLinearizable } from '../../node/check/linearizability.js';
import { type TxnInput, type TxnOutput, txnModel } from '../../node/check/txn-model.js';
import { AGGREGATOR, clientNode, configNode, hydraMemberName, receiverNode, sequencerNode } from '../../node/hydra/topology.js';
import { HydraPaxosSim, defaultPaxosSimOptions } from '../../node/hydrapaxos/simulation.js';
import type { NodeId } from '../../node/runtime/core.js';
import { InvariantError } from '../../node/protocol/invariant.js';
import { SeededRandom } from '../../node/runtime/random.js';
import { liveStores } from './hydra-app-profiles.js';

/**
 * How the members are deleted in turn, as the real-cluster test "one pod of every role but the
 * clients deleted in turn" does: `sequential` — each down 2–8 s, up 2–5 s before the next;
 * `short` — downs around the failure timeout (0.1–1 s), so that some are reconfigured around
 * and some not; `overlap` — the next member goes down before the previous is back; `follower` —
 * after each group's leader is back, a follower of the same group goes down right after.
 */
export type RestartPattern = 'sequential' | 'short' | 'overlap' | 'follower';
export const RESTART_PATTERNS: RestartPattern[] = ['sequential', 'short', 'overlap', 'follower'];

export interface MemberRestartRun {
  sim: HydraPaxosSim;
  pattern: RestartPattern;
  /** Every crash and restart, in time order. */
  events: { at: number; node: NodeId; what: 'crash' | 'restart' }[];
  lastRestart: number;
  problems: string[];
}

/**
 * examples/hydratxn.yaml in simulated time, with the planner's periods (failure timeout 250 ms,
 * HydraPaxos view change 250 ms, configuration view change 250 ms, …; `scale` divides every
 * period and duration alike): 3 sequencers, 3 shards of 3 replicas, the flush aggregator, a
 * 3-replica configuration service, 4 clients (half the transactions on two shards) paced so that
 * the workload runs throughout. The aggregator, configuration replica 0, each shard's view-0
 * leader and sequencer 0 are crashed and restarted with empty state in turn (SimNetwork.restart
 * boots a new core, as a replaced pod does; a sequencer comes back as a new incarnation), with
 * mild loss and reordering. Afterwards every client must keep completing transactions, the
 * history be linearizable and each shard's live replicas hold the same store.
 */
export function runMemberRestarts(seed: number, pattern: RestartPattern, o: { scale?: number; staleAddresses?: boolean } = {}): MemberRestartRun {
  const scale = o.scale ?? 1;
  const s = (us: number) => Math.round(us / scale);
  const failure = s(250_000);
  const sim = new HydraPaxosSim({
    ...defaultPaxosSimOptions, seed, application: 'hydratxn', groups: 3, sequencers: 3, receiversPerGroup: 3, clients: 4, multiGroupShare: 0.5,
    aggregator: true, flushIntervalUs: 1000, solicit: 'immediate', failureTimeoutUs: failure, keySpace: 16,
    requestsPerClient: Infinity, thinkUs: s(20_000), retryUs: s(100_000), syncIntervalUs: s(20_000), viewChangeUs: s(250_000), stateRetryUs: s(250_000),
    timing: {
      configTickUs: Math.max(5000, s(25_000)), configViewChangeUs: s(250_000), reportGraceUs: s(125_000), addTimeoutUs: s(2_500_000),
      joinRetryUs: s(50_000), loadIntervalUs: 10_000, solicitIntervalUs: 500, gapWaitUs: 500,
    },
    faults: { delayUs: 100, jitterUs: 100, loss: 0.005, duplicate: 0.002, reorder: 0.02, reorderWindowUs: 400 },
  });
  const rng = new SeededRandom(seed * 1009 + RESTART_PATTERNS.indexOf(pattern));
  const between = (lo: number, hi: number) => s(lo + Math.floor(rng.next() * (hi - lo)));
  const events: MemberRestartRun['events'] = [];
  const crash = (at: number, node: NodeId) => {
    events.push({ at, node, what: 'crash' });
    sim.net.at(at, () => sim.net.crash(node));
  };
  const everyone: NodeId[] = [AGGREGATOR, ...[0, 1, 2].map(configNode), ...[0, 1, 2].map(sequencerNode),
    ...[0, 1, 2].flatMap((g) => [0, 1, 2].map((r) => receiverNode(g, r))), ...[0, 1, 2, 3].map(clientNode)];
  const restart = (at: number, node: NodeId) => {
    events.push({ at, node, what: 'restart' });
    // A replaced pod has a new address: each member keeps sending to the old one until it
    // resolves the name again, up to ~6 s (node/runtime/addressing.ts: every 5 s, or at once when
    // the new pod talks first, behind the cluster DNS's 5 s TTL).
    const stale = o.staleAddresses ? everyone.filter((x) => x !== node).map((x) => [x, at + between(0, 6_000_000)] as const) : [];
    sim.net.at(at, () => {
      for (const [x, until] of stale) sim.net.cutUntil(x, node, until);
      sim.net.restart(node);
    });
  };
  const order: NodeId[] = [AGGREGATOR, configNode(0), receiverNode(0, 0), receiverNode(1, 0), receiverNode(2, 0), sequencerNode(0)];
  let t = s(1_000_000);
  for (const node of order) {
    const down = pattern === 'short' ? between(100_000, 1_000_000) : between(2_000_000, 8_000_000);
    crash(t, node);
    restart(t + down, node);
    if (pattern === 'follower' && node >= receiverNode(0, 0) && node < clientNode(0)) {
      // A follower of the same group goes down right after its leader is back (a rolling restart).
      const follower = node + 1 + Math.floor(rng.next() * 2);
      const at = t + down + between(0, 600_000);
      crash(at, follower);
      restart(at + between(500_000, 4_000_000), follower);
    }
    t = pattern === 'overlap' ? t + Math.floor(down * (0.3 + 0.6 * rng.next())) : t + down + between(2_000_000, 5_000_000);
  }
  events.sort((a, b) => a.at - b.at);
  const lastRestart = Math.max(...events.map((e) => e.at));
  const problems: string[] = [];
  const settle = lastRestart + s(3_000_000);
  const end = settle + s(5_000_000);
  try {
    sim.net.runUntil(settle);
    sim.net.faults = { ...sim.net.faults, loss: 0, duplicate: 0, reorder: 0 };
    sim.net.runUntil(end);
    for (let c = 0; c < 4; c++) sim.hydra.command(clientNode(c), { stop: true });
    sim.net.runUntil(end + s(2_000_000));
  } catch (e) {
    if (e instanceof InvariantError) {
      problems.push(`invariant broken at ${sim.net.now} µs: ${e.message}`);
      return { sim, pattern, events, lastRestart, problems };
    }
    throw e;
  }
  for (let c = 0; c < 4; c++) {
    const late = sim.history.filter((op) => op.client === c && op.call >= settle).length;
    if (late === 0) problems.push(`client ${c} completed nothing in the ${(end - settle) / 1e6 * scale} s after the network settled`);
    if (sim.client(c).pending) problems.push(`client ${c} still waits for a transaction called at ${sim.client(c).pending!.call} µs`);
  }
  for (let g = 0; g < 3; g++) if (new Set(liveStores(sim, g)).size > 1) problems.push(`shard ${g}: live replicas hold different stores`);
  if (problems.length === 0) {
    const lin = checkLinearizable(txnModel, sim.fullHistory() as Operation<TxnInput, TxnOutput>[]);
    if (!lin.linearizable) problems.push(`not linearizable: ${lin.counterexample?.slice(0, 4).join(' | ')}`);
  }
  return { sim, pattern, events, lastRestart, problems };
}

/** Where every member stands: for locating a stall. */
export function describeMembers(sim: HydraPaxosSim): string[] {
  const out: string[] = [];
  const cs = sim.hydra.configService;
  out.push(`config service: config ${cs.current.config} active ${JSON.stringify(cs.current.active)} view ${cs.replication.currentView} primary ${cs.replication.isPrimary}`);
  for (let g = 0; g < 3; g++) {
    for (let r = 0; r < 3; r++) {
      const n = receiverNode(g, r);
      if (!sim.net.isUp(n)) {
        out.push(`${hydraMemberName(n)}: down`);
        continue;
      }
      const rep = sim.replica(n);
      const st = rep.state;
      out.push(`${hydraMemberName(n)}: view ${st.view} ${st.status} end ${JSON.stringify(rep.log.end)} sync ${JSON.stringify(rep.log.syncPoint.key)} executed ${st.executed} waiting ${st.waiting} held ${st.held} `
        + `waitingSlots ${JSON.stringify(rep.normal.buffer.waiting().slice(0, 3))} hydra config ${rep.receiver.configuration.config} through ${JSON.stringify(rep.receiver.deliveredThrough)} `
        + `streams ${JSON.stringify([...rep.log.streams.values()])}`);
    }
  }
  for (let c = 0; c < 4; c++) out.push(`client-${c}: pending ${JSON.stringify(sim.client(c).pending?.call ?? null)}`);
  return out;
}
