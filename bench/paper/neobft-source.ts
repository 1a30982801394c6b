import { neoCodec } from '../../node/neobft/codec.js';
import { NeoSim } from '../../node/neobft/simulation.js';
import { neoClientNode, replicaNode } from '../../node/neobft/topology.js';
import type { Codec } from '../../node/runtime/core.js';
import { PAPER_SETTING, applyPaperSetting } from '../model/paper-setting.js';
import { type LoadPoint, type Window, loadPoint } from '../model/paper-setting-load.js';
import { bftClientNode, bftReplicaNode, bftTestbed } from '../model/bft-testbed.js';
import type { RoleName } from '../model/roles.js';
import type { CalibrationTable } from '../model/table.js';

export const BFT_PROTOCOLS = ['neobft-hm', 'neobft-pk', 'pbft', 'hotstuff', 'zyzzyva', 'unreplicated'] as const;
export type BftProtocol = (typeof BFT_PROTOCOLS)[number];
export const BFT_NAMES: Record<BftProtocol, string> = {
  'neobft-hm': 'NeoBFT-HM', 'neobft-pk': 'NeoBFT-PK', pbft: 'PBFT', hotstuff: 'HotStuff', zyzzyva: 'Zyzzyva', unreplicated: 'unreplicated server',
};

/** The calibrated roles the NeoBFT group's members pay (NeoBFT-PK clients pay NeoBFT-HM's client costs: the same client code). */
export const BFT_ROLES: RoleName[] = ['neobft-hm-replica', 'neobft-hm-client', 'neobft-pk-replica', 'pbft-replica', 'pbft-client',
  'hotstuff-replica', 'hotstuff-client', 'zyzzyva-replica', 'zyzzyva-client', 'unreplicated-server', 'unreplicated-client'];

export interface BftRun {
  protocol: BftProtocol;
  f: number;
  clients: number;
  /** Probability that the network drops a datagram. */
  loss: number;
}

const asCodec = <M extends { type: string }>(c: Codec<M>) => c as unknown as Codec<{ type: string }>;
const range = <T>(n: number, of: (i: number) => T) => Array.from({ length: n }, (_, i) => of(i));

/**
 * One closed-loop run of a BFT protocol in the paper setting: replicas and clients are calibrated
 * machines (NeoBFT-PK's clients pay NeoBFT-HM's client costs: the same client code); the AOM
 * sequencers are hardware. Returns the window's load point.
 */
export function bftPoint(table: CalibrationTable, r: BftRun, seed: number, w: Window): LoadPoint {
  const clients = range(r.clients, (c) => c);
  if (r.protocol === 'neobft-hm' || r.protocol === 'neobft-pk') {
    const scheme = r.protocol === 'neobft-hm' ? 'hm' : 'pk';
    const sim = new NeoSim({ seed, f: r.f, scheme, clients: r.clients, requestsPerClient: Infinity, faults: { loss: r.loss }, timing: { clientRetryUs: PAPER_SETTING.timeouts.clientRetryUs } });
    applyPaperSetting(sim.net, table, asCodec(neoCodec), [
      ...range(3 * r.f + 1, (i) => ({ id: replicaNode(i), role: `neobft-${scheme}-replica` })),
      ...clients.map((c) => ({ id: neoClientNode(c), role: 'neobft-hm-client' })),
    ]);
    sim.net.runUntil(w.warmUs + w.lengthUs);
    return loadPoint(sim.history, r.clients, w);
  }
  const unreplicated = r.protocol === 'unreplicated';
  const f = unreplicated ? 0 : r.f;
  const ops: { call: number; ret: number }[] = [];
  const tb = bftTestbed(r.protocol === 'unreplicated' ? 'pbft' : r.protocol, seed, f, r.clients, Infinity, (op) => ops.push(op), PAPER_SETTING.timeouts);
  tb.net.faults = { ...tb.net.faults, loss: r.loss };
  applyPaperSetting(tb.net, table, tb.codec, [
    ...range(3 * f + 1, (i) => ({ id: bftReplicaNode(i), role: unreplicated ? 'unreplicated-server' : `${r.protocol}-replica` })),
    ...clients.map((c) => ({ id: bftClientNode(c), role: `${r.protocol}-client` })),
  ]);
  tb.net.runUntil(w.warmUs + w.lengthUs);
  return loadPoint(ops, r.clients, w);
}

/** How much of the NeoBFT group's model a run does: `--quick` does less. */
export interface BftPlan {
  /** Closed-loop clients swept for the latency-throughput curves. */
  clients: number[];
  fs: number[];
  losses: number[];
  /** Clients of the f and drop-rate sweeps (enough to saturate every protocol). */
  saturating: number;
  window: Window;
  seed: number;
  /** Seconds of each loopback run (0: none). */
  loopbackSeconds: number;
}

/**
 * Virtual µs before a measurement window: past the clients' first resend (the paper setting's
 * 100 ms), so that requests lost while the testbed starts (Hydra's configuration service, the
 * sequencers' first epoch) are resent before it.
 */
export const WARM_US = PAPER_SETTING.timeouts.clientRetryUs + 30_000;

/** How big a `bench paper` run is: `--quick`, or `--tiny` (a smoke test: fewest points, no loopback runs). */
export type PaperScale = 'full' | 'quick' | 'tiny';

export const bftPlan = (scale: PaperScale): BftPlan => ({
  full: { clients: [1, 2, 4, 8, 16, 32, 64], fs: [1, 2, 3, 4], losses: [0, 0.0001, 0.001, 0.002, 0.005, 0.01], saturating: 64, window: { warmUs: WARM_US, lengthUs: 200_000 }, seed: 1, loopbackSeconds: 4 },
  quick: { clients: [1, 8, 32], fs: [1, 4], losses: [0, 0.01], saturating: 32, window: { warmUs: WARM_US, lengthUs: 30_000 }, seed: 1, loopbackSeconds: 2 },
  tiny: { clients: [1, 8], fs: [1, 2], losses: [0, 0.01], saturating: 8, window: { warmUs: WARM_US, lengthUs: 10_000 }, seed: 1, loopbackSeconds: 0 },
})[scale];

/** The modelled series of the NeoBFT group. */
export interface BftModel {
  curves: Record<BftProtocol, LoadPoint[]>;
  /** Replicated protocols at `saturating` clients, by f and by drop rate. */
  byF: Partial<Record<BftProtocol, (LoadPoint & { f: number })[]>>;
  byLoss: Partial<Record<BftProtocol, (LoadPoint & { loss: number })[]>>;
}

const REPLICATED: BftProtocol[] = ['neobft-hm', 'neobft-pk', 'pbft', 'hotstuff', 'zyzzyva'];

/** Runs every point of the plan in the paper setting. */
export function modelBft(table: CalibrationTable, plan: BftPlan, log: (line: string) => void): BftModel {
  const run = (r: BftRun) => {
    const p = bftPoint(table, r, plan.seed, plan.window);
    log(`  ${r.protocol} f=${r.f} loss=${r.loss} ${r.clients} client(s): ${p.ops_per_s.toFixed(0)} ops/s, p50 ${p.p50_us.toFixed(0)} µs (${p.ops} ops)`);
    return p;
  };
  const curves = Object.fromEntries(BFT_PROTOCOLS.map((protocol) =>
    [protocol, plan.clients.map((clients) => run({ protocol, f: 1, clients, loss: 0 }))])) as Record<BftProtocol, LoadPoint[]>;
  const at = { f: 1, clients: plan.saturating, loss: 0 };
  const byF = Object.fromEntries(REPLICATED.map((protocol) => [protocol, plan.fs.map((f) => ({ ...run({ protocol, ...at, f }), f }))]));
  const byLoss = Object.fromEntries(REPLICATED.map((protocol) => [protocol, plan.losses.map((loss) => ({ ...run({ protocol, ...at, loss }), loss }))]));
  return { curves, byF, byLoss };
}
