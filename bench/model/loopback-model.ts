import { AGGREGATOR, clientNode, configNode, receiverNode, sequencerNode as hydraSequencerNode } from '../../node/hydra/topology.js';
import { hydraPaxosCodec } from '../../node/hydrapaxos/codec.js';
import { SimHost } from '../../node/net/sim-machine.js';
import type { SimNetwork } from '../../node/net/sim.js';
import { NeoSim } from '../../node/neobft/simulation.js';
import { neoCodec } from '../../node/neobft/codec.js';
import { neoClientNode, replicaNode, sequencerNode } from '../../node/neobft/topology.js';
import type { Codec, NodeId } from '../../node/runtime/core.js';
import { bftClientNode, bftTestbed } from './bft-testbed.js';
import { HYDRAPAXOS_KV, type HydraPaxosKv, paxosKvResource } from '../hydra-apps/index.js';
import { median } from './replay.js';
import { roleCostModel } from './role-cost.js';
import type { RoleName } from './roles.js';
import { sequencerGroupSim } from './sequencer-group-sim.js';
import type { CalibrationTable } from './table.js';

/** The key-value configurations of `bench bft` the model reproduces. */
export const MODELLED_BFT = ['neobft-hm', 'neobft-pk', 'pbft', 'hotstuff', 'zyzzyva', 'unreplicated'] as const;
export type ModelledBft = (typeof MODELLED_BFT)[number];
/** Every configuration the loopback model runs: bench bft's and bench hydra-apps' key-value ones. */
export type Modelled = ModelledBft | HydraPaxosKv;

/**
 * A member's side, as the loopback report sums process CPU (`cpu_s_per_op`: by the first word of
 * its members' names; a SequencerGroup's replicas are `receivers`, its configuration service `configs`).
 */
export type Side = 'replicas' | 'receivers' | 'sequencers' | 'aggregators' | 'configs' | 'clients';

interface Member {
  id: NodeId;
  side: Side;
  role: RoleName;
}

interface Built {
  net: SimNetwork;
  codec: Codec<{ type: string }>;
  members: Member[];
  /** Completed operations: when they returned and their latency (µs). */
  done: { at: number; latencyUs: number }[];
}

export interface LoopbackModelOptions {
  clients: number;
  /** Cores of the shared host (every member a one-thread process on it). */
  cores: number;
  /** Each core runs at this fraction of its speed (the share of it the testbed got); 1: all of it. */
  share: number;
  /** A process's cost per wake-up by side (member-runtime.ts); 0 where unset. */
  wakeUs: Partial<Record<Side, number>>;
  warmUpUs: number;
  windowUs: number;
  seed: number;
}

export interface LoopbackModelRun {
  ops_per_s: number;
  p50_s: number | null;
  p99_s: number | null;
  /** Modelled CPU µs per op by side, and wake-ups per op by side (work finding a process idle). */
  cpuUsPerOp: Partial<Record<Side, number>>;
  wakeupsPerOp: Partial<Record<Side, number>>;
  /** Datagrams all members sent per op (as `datagrams_per_op` of the loopback report). */
  sentPerOp: number;
}

/** The bench's timeouts (BFTCluster defaults), not the simulation tests' short ones: a loaded model must not retry early. */
const NEO_TIMING = { gapUs: 2000, retryUs: 5000, viewChangeUs: 200_000, clientRetryUs: 100_000 };
const asCodec = <M extends { type: string }>(c: Codec<M>) => c as unknown as Codec<{ type: string }>;
const range = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));

/** Completions, watched where a simulation records them (its history). */
function watch(history: { call: number; ret: number }[], net: SimNetwork, done: Built['done']): void {
  const push = history.push.bind(history);
  history.push = (...ops) => {
    for (const op of ops) done.push({ at: net.now, latencyUs: op.ret - op.call });
    return push(...ops);
  };
}

/**
 * bench hydra-apps' SequencerGroup of `config` in the simulator, as planned for loopback. Every member
 * is a process: the sequencers, the flush aggregator and the configuration service share the cores too.
 */
function buildPaxos(config: HydraPaxosKv, clients: number, seed: number): Built {
  const sim = sequencerGroupSim(paxosKvResource(config, 1, clients), seed);
  const o = sim.o;
  const done: Built['done'] = [];
  watch(sim.history, sim.net, done);
  return {
    net: sim.net, codec: asCodec(hydraPaxosCodec), done,
    members: [
      ...range(o.groups * o.receiversPerGroup, (i) => ({
        id: receiverNode(Math.floor(i / o.receiversPerGroup), i % o.receiversPerGroup), side: 'receivers' as const, role: 'hydrapaxos-replica' as const,
      })),
      ...range(o.sequencers, (k) => ({ id: hydraSequencerNode(k), side: 'sequencers' as const, role: 'hydra-sequencer' as const })),
      ...(o.aggregator ? [{ id: AGGREGATOR, side: 'aggregators' as const, role: 'hydra-aggregator' as const }] : []),
      ...range(o.configReplicas, (i) => ({ id: configNode(i), side: 'configs' as const, role: 'hydra-config' as const })),
      ...range(clients, (c) => ({ id: clientNode(c), side: 'clients' as const, role: 'hydrapaxos-client' as const })),
    ],
  };
}

/** Whether `config` is one of bench hydra-apps' (a SequencerGroup). */
export const isPaxos = (config: Modelled): config is HydraPaxosKv => (HYDRAPAXOS_KV as readonly string[]).includes(config);

/** The BFTCluster `bench bft` runs (f = 1, 4 replicas, 2 sequencers; the unreplicated server alone), or a SequencerGroup of bench hydra-apps, in the simulator. */
function build(config: Modelled, clients: number, seed: number): Built {
  if (isPaxos(config)) return buildPaxos(config, clients, seed);
  const done: Built['done'] = [];
  if (config === 'neobft-hm' || config === 'neobft-pk') {
    const sim = new NeoSim({ seed, f: 1, scheme: config === 'neobft-hm' ? 'hm' : 'pk', clients, requestsPerClient: Infinity, faults: {}, timing: NEO_TIMING });
    watch(sim.history, sim.net, done);
    // Clients of both schemes do the same work (MAC-checked replies): NeoBFT-HM's client costs stand for both.
    return {
      net: sim.net, codec: asCodec(neoCodec), done,
      members: [
        ...range(4, (i) => ({ id: replicaNode(i), side: 'replicas' as const, role: `${config}-replica` as RoleName })),
        ...range(2, (k) => ({ id: sequencerNode(k), side: 'sequencers' as const, role: `${config}-sequencer` as RoleName })),
        ...range(clients, (c) => ({ id: neoClientNode(c), side: 'clients' as const, role: 'neobft-hm-client' as RoleName })),
      ],
    };
  }
  const f = config === 'unreplicated' ? 0 : 1;
  const tb = bftTestbed(config === 'unreplicated' ? 'pbft' : config, seed, f, clients, Infinity, (_op, latencyUs) => done.push({ at: tb.net.now, latencyUs }), {
    maxBatch: f === 0 ? 1 : 16, batchDelayUs: 200, retryUs: 5000, viewChangeUs: 200_000, clientRetryUs: 100_000, commitUs: 2000, keySpace: 1000,
  });
  const role = (r: 'server' | 'client'): RoleName => (f === 0 ? `unreplicated-${r}` : `${config}-${r === 'server' ? 'replica' : 'client'}` as RoleName);
  return {
    net: tb.net, codec: tb.codec, done,
    members: [
      ...tb.replicaIds.map((id) => ({ id, side: 'replicas' as const, role: role('server') })),
      ...range(clients, (c) => ({ id: bftClientNode(c), side: 'clients' as const, role: role('client') })),
    ],
  };
}

/** A core at `share` of its speed: every cost stretched by 1 / share (the other tenants' time slices, smoothed). */
const slowed = (us: number, share: number) => us / share;

/**
 * This machine's loopback run of `config`, modelled: every member a one-thread process on one
 * shared host, its costs from the calibration (woken UDP: members sleep between datagrams) plus
 * its process's cost per wake-up. Throughput and latency over a window after a warm-up.
 */
export function modelLoopback(config: Modelled, table: CalibrationTable, o: LoopbackModelOptions): LoopbackModelRun {
  const { net, codec, members, done } = build(config, o.clients, o.seed);
  const host = new SimHost(o.cores);
  for (const m of members) {
    const model = roleCostModel(table, m.role, codec, { cores: 1, queueLimit: 1000, udp: 'woken', host, wakeUs: o.wakeUs[m.side] ?? 0 });
    net.setCostModel(m.id, {
      ...model,
      receiveUs: (b) => slowed(model.receiveUs(b), o.share),
      sendUs: (b) => slowed(model.sendUs(b), o.share),
      timerUs: (name) => slowed(model.timerUs!(name), o.share),
      wakeUs: slowed(model.wakeUs ?? 0, o.share),
    });
  }
  let sent = 0;
  net.runFor(o.warmUpUs);
  const before = new Map(members.map((m) => [m.id, net.machineStats(m.id)]));
  net.tap = () => void sent++;
  const from = net.now;
  net.runFor(o.windowUs);
  net.tap = null;
  const ops = done.filter((d) => d.at > from).map((d) => d.latencyUs);
  const perOp = (x: number) => (ops.length ? x / ops.length : NaN);
  const busy = new Map<Side, number>();
  const wakeups = new Map<Side, number>();
  for (const m of members) {
    const now = net.machineStats(m.id);
    busy.set(m.side, (busy.get(m.side) ?? 0) + now.busyUs - before.get(m.id)!.busyUs);
    wakeups.set(m.side, (wakeups.get(m.side) ?? 0) + now.wakeups - before.get(m.id)!.wakeups);
  }
  const sorted = [...ops].sort((a, b) => a - b);
  return {
    ops_per_s: ops.length / (o.windowUs / 1e6),
    p50_s: ops.length ? median(ops) / 1e6 : null,
    p99_s: ops.length ? sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]! / 1e6 : null,
    // CPU in µs of a full-speed core, comparable with the members' process counters.
    cpuUsPerOp: Object.fromEntries([...busy].map(([s, us]) => [s, perOp(us * o.share)])),
    wakeupsPerOp: Object.fromEntries([...wakeups].map(([s, n]) => [s, perOp(n)])),
    sentPerOp: perOp(sent),
  };
}
