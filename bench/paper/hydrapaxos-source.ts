import { clientNode, receiverNode } from '../../node/hydra/topology.js';
import { hydraPaxosCodec } from '../../node/hydrapaxos/codec.js';
import { HydraPaxosSim, type HydraPaxosSimOptions, defaultPaxosSimOptions } from '../../node/hydrapaxos/simulation.js';
import type { Codec } from '../../node/runtime/core.js';
import { PAPER_SETTING, applyPaperSetting } from '../model/paper-setting.js';
import { type LoadPoint, type Window, loadPoint } from '../model/paper-setting-load.js';
import type { RoleName } from '../model/roles.js';
import type { CalibrationTable } from '../model/table.js';
import { type PaperScale, WARM_US, bftPoint } from './neobft-source.js';

/** The key-value configurations of bench hydra-apps, in the paper setting. */
export const PAXOS_CONFIGS = ['hydrapaxos-1', 'hydrapaxos-2', 'hydrapaxos-4', 'nopaxos-style', 'unreplicated'] as const;
export type PaxosConfig = (typeof PAXOS_CONFIGS)[number];
export const PAXOS_NAMES: Record<PaxosConfig, string> = {
  'hydrapaxos-1': 'HydraPaxos, 1 sequencer', 'hydrapaxos-2': 'HydraPaxos, 2 sequencers', 'hydrapaxos-4': 'HydraPaxos, 4 sequencers',
  'nopaxos-style': 'NOPaxos-style single sequencer', unreplicated: 'unreplicated server',
};

const REPLICAS = 3;

/** The calibrated roles the HydraPaxos group's members pay (the unreplicated server's: see BFT_ROLES). */
export const PAXOS_ROLES: RoleName[] = ['hydrapaxos-replica', 'hydrapaxos-client'];

/**
 * One closed-loop run of a Hydra application in the paper setting: every group's 3 replicas and
 * the clients are calibrated machines paying `roles`; sequencers and the flush aggregator (if
 * `o` runs one) are hardware; the configuration service is free (off the request path).
 */
export function hydraAppPoint(table: CalibrationTable, o: Partial<HydraPaxosSimOptions> & { groups: number; clients: number }, roles: { replica: RoleName; client: RoleName }, seed: number, w: Window): LoadPoint {
  const sim = new HydraPaxosSim({
    ...defaultPaxosSimOptions, seed, receiversPerGroup: REPLICAS, requestsPerClient: Infinity, retryUs: PAPER_SETTING.timeouts.clientRetryUs, ...o,
  });
  applyPaperSetting(sim.net, table, hydraPaxosCodec as unknown as Codec<{ type: string }>, [
    ...Array.from({ length: o.groups * REPLICAS }, (_, i) => ({ id: receiverNode(Math.floor(i / REPLICAS), i % REPLICAS), role: roles.replica })),
    ...Array.from({ length: o.clients }, (_, c) => ({ id: clientNode(c), role: roles.client })),
  ]);
  sim.net.runUntil(w.warmUs + w.lengthUs);
  return loadPoint(sim.history, o.clients, w);
}

/**
 * One closed-loop run of a key-value configuration in the paper setting, one group of 3 replicas
 * (hydraAppPoint). NOPaxos-style: one sequencer, no periodic flushes, no aggregator.
 */
export function paxosPoint(table: CalibrationTable, config: PaxosConfig, clients: number, seed: number, w: Window): LoadPoint {
  if (config === 'unreplicated') return bftPoint(table, { protocol: 'unreplicated', f: 0, clients, loss: 0 }, seed, w);
  const nopaxos = config === 'nopaxos-style';
  return hydraAppPoint(table, {
    groups: 1, clients, keySpace: 1000,
    sequencers: nopaxos ? 1 : Number(config.split('-')[1]), aggregator: !nopaxos, flushIntervalUs: nopaxos ? 0 : 1000,
  }, { replica: 'hydrapaxos-replica', client: 'hydrapaxos-client' }, seed, w);
}

/** How much of the HydraPaxos group's model a run does. */
export interface PaxosPlan {
  clients: number[];
  window: Window;
  seed: number;
  /** Seconds of each loopback run (0: none). */
  loopbackSeconds: number;
}

export const paxosPlan = (scale: PaperScale): PaxosPlan => ({
  full: { clients: [1, 2, 4, 8, 16, 32, 64], window: { warmUs: WARM_US, lengthUs: 200_000 }, seed: 1, loopbackSeconds: 4 },
  quick: { clients: [1, 8, 32], window: { warmUs: WARM_US, lengthUs: 30_000 }, seed: 1, loopbackSeconds: 2 },
  tiny: { clients: [1, 8], window: { warmUs: WARM_US, lengthUs: 10_000 }, seed: 1, loopbackSeconds: 0 },
})[scale];

export type PaxosModel = Record<PaxosConfig, LoadPoint[]>;

/** Every configuration's latency-throughput curve in the paper setting. */
export function modelPaxos(table: CalibrationTable, plan: PaxosPlan, log: (line: string) => void): PaxosModel {
  return Object.fromEntries(PAXOS_CONFIGS.map((config) => [config, plan.clients.map((clients) => {
    const p = paxosPoint(table, config, clients, plan.seed, plan.window);
    log(`  ${config}, ${clients} client(s): ${p.ops_per_s.toFixed(0)} ops/s, p50 ${p.p50_us.toFixed(0)} µs (${p.ops} ops)`);
    return p;
  })])) as PaxosModel;
}
