import { hydraTxnReport } from '../../operator/report/hydra-apps.js';
import { CLIENTS, hydraTxn } from '../hydra-apps/index.js';
import { runResource } from '../support/run-resource.js';
import type { LoopbackPoint } from './load-figure.js';

export type TxnLoopbackPoint = LoopbackPoint & { share: number };

/** HydraTxn on loopback at each share of two-shard transactions, through bench hydra-apps' runner (`seconds` each; 0: not run). */
export async function loopbackTxn(shares: number[], seconds: number, log: (line: string) => void): Promise<TxnLoopbackPoint[]> {
  if (seconds <= 0) return [];
  const out: TxnLoopbackPoint[] = [];
  for (const share of shares) {
    const r = await runResource(hydraTxn(seconds, share), hydraTxnReport);
    const p = { share, clients: CLIENTS, ops_per_s: r.ops_per_s, p50_us: (r.latency_s.p50 ?? NaN) * 1e6, seconds };
    log(`  loopback hydratxn, ${share * 100} % two-shard, ${p.clients} clients, ${seconds} s: ${p.ops_per_s.toFixed(0)} txn/s, p50 ${p.p50_us.toFixed(0)} µs`);
    out.push(p);
  }
  return out;
}
