import { CLIENTS as LOOPBACK_CLIENTS, loadedRun } from '../bft/index.js';
import type { LoopbackPoint } from './load-figure.js';

export { LOOPBACK_CLIENTS };

/** NeoBFT-HM and PBFT on loopback, through bench bft's runner (`seconds` each; 0: not run). */
export async function loopbackBft(seconds: number, log: (line: string) => void): Promise<Partial<Record<'neobft-hm' | 'pbft', LoopbackPoint>>> {
  if (seconds <= 0) return {};
  const out: Partial<Record<'neobft-hm' | 'pbft', LoopbackPoint>> = {};
  for (const protocol of ['neobft-hm', 'pbft'] as const) {
    const r = await loadedRun(protocol, seconds);
    out[protocol] = { clients: LOOPBACK_CLIENTS, ops_per_s: r.ops_per_s, p50_us: (r.latency_s.p50 ?? NaN) * 1e6, seconds };
    log(`  loopback ${protocol}, ${LOOPBACK_CLIENTS} clients, ${seconds} s: ${r.ops_per_s.toFixed(0)} ops/s, p50 ${out[protocol]!.p50_us.toFixed(0)} µs`);
  }
  return out;
}
