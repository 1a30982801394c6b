import type { LoadPoint, Window } from '../model/paper-setting-load.js';
import { type RoleName, TXN_SEQUENCERS, TXN_SHARDS } from '../model/roles.js';
import type { CalibrationTable } from '../model/table.js';
import { hydraAppPoint, paxosPlan } from './hydrapaxos-source.js';
import type { PaperScale } from './neobft-source.js';

/** The calibrated roles HydraTxn's members pay. */
export const TXN_ROLES: RoleName[] = ['hydratxn-replica', 'hydratxn-client'];

/** How much of HydraTxn's model a run does: the shares of two-shard transactions, at one client count. */
export interface TxnPlan {
  shares: number[];
  /** Closed-loop clients, enough to saturate the replicas at every share. */
  clients: number;
  window: Window;
  seed: number;
  /** Seconds of each loopback run (0: none). */
  loopbackSeconds: number;
}

/** The HydraPaxos group's window, seed and loopback length, with HydraTxn's shares and clients. */
export function txnPlan(scale: PaperScale): TxnPlan {
  const { window, seed, loopbackSeconds } = paxosPlan(scale);
  const { shares, clients } = {
    full: { shares: [0, 0.1, 0.25, 0.5, 1], clients: 64 },
    quick: { shares: [0, 0.25, 0.5, 1], clients: 32 },
    tiny: { shares: [0, 1], clients: 16 },
  }[scale];
  return { shares, clients, window, seed, loopbackSeconds };
}

export type TxnPoint = LoadPoint & { share: number };

/**
 * HydraTxn in the paper setting at each share of two-shard transactions (a two-shard
 * transaction completes when both shards have answered): replicas and clients are calibrated
 * machines; sequencers and the flush aggregator (1 ms flushes) are hardware.
 */
export function modelTxn(table: CalibrationTable, plan: TxnPlan, log: (line: string) => void): TxnPoint[] {
  return plan.shares.map((share) => {
    const p = hydraAppPoint(table, {
      application: 'hydratxn', groups: TXN_SHARDS, sequencers: TXN_SEQUENCERS, clients: plan.clients, multiGroupShare: share, aggregator: true, flushIntervalUs: 1000,
    }, { replica: 'hydratxn-replica', client: 'hydratxn-client' }, plan.seed, plan.window);
    log(`  hydratxn, ${share * 100} % two-shard, ${plan.clients} clients: ${p.ops_per_s.toFixed(0)} txn/s, p50 ${p.p50_us.toFixed(0)} µs (${p.ops} txns)`);
    return { ...p, share };
  });
}
