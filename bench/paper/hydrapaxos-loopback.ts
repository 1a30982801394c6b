import { hydraPaxosReport } from '../../operator/report/hydra-apps.js';
import { loadedRun } from '../bft/index.js';
import { CLIENTS, hydraPaxos1 } from '../hydra-apps/index.js';
import { runResource } from '../support/run-resource.js';
import type { LoopbackPoint } from './load-figure.js';

export type PaxosLoopback = Partial<Record<'hydrapaxos-1' | 'unreplicated', LoopbackPoint>>;

/** HydraPaxos-1 and the unreplicated server on loopback, through bench hydra-apps' and bench bft's runners (`seconds` each; 0: not run). */
export async function loopbackPaxos(seconds: number, log: (line: string) => void): Promise<PaxosLoopback> {
  if (seconds <= 0) return {};
  const paxos = await runResource(hydraPaxos1(seconds), hydraPaxosReport);
  const server = await loadedRun('unreplicated', seconds);
  const point = (r: { ops_per_s: number; latency_s: { p50: number | null } }): LoopbackPoint =>
    ({ clients: CLIENTS, ops_per_s: r.ops_per_s, p50_us: (r.latency_s.p50 ?? NaN) * 1e6, seconds });
  const out = { 'hydrapaxos-1': point(paxos), unreplicated: point(server) };
  for (const [config, p] of Object.entries(out)) log(`  loopback ${config}, ${p.clients} clients, ${seconds} s: ${p.ops_per_s.toFixed(0)} ops/s, p50 ${p.p50_us.toFixed(0)} µs`);
  return out;
}
