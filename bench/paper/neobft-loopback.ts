import { CLIENTS as LOOPBACK_CLIENTS, loadedRun } from '../bft/index.js';
import type { LoopbackPoint } from './load-figure.js';

export { LOOPBACK_CLIENTS };

/** The protocols measured on loopback beside the model: NeoBFT-HM and the BFT baselines. */
export const LOOPBACK_BFT = ['neobft-hm', 'pbft', 'hotstuff', 'zyzzyva'] as const;
export type BftLoopback = Partial<Record<(typeof LOOPBACK_BFT)[number], LoopbackPoint>>;

/** NeoBFT-HM and the baselines on loopback, through bench bft's runner (`seconds` each; 0: not run). */
export async function loopbackBft(seconds: number, log: (line: string) => void): Promise<BftLoopback> {
  if (seconds <= 0) return {};
  const out: BftLoopback = {};
  for (const protocol of LOOPBACK_BFT) {
    const r = await loadedRun(protocol, seconds);
    out[protocol] = { clients: LOOPBACK_CLIENTS, ops_per_s: r.ops_per_s, p50_us: (r.latency_s.p50 ?? NaN) * 1e6, seconds };
    log(`  loopback ${protocol}, ${LOOPBACK_CLIENTS} clients, ${seconds} s: ${r.ops_per_s.toFixed(0)} ops/s, p50 ${out[protocol]!.p50_us.toFixed(0)} µs`);
  }
  return out;
}
