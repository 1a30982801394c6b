import { SIM_BUDGET_PER_SEQUENCER_PER_S, simulatedFailoverRun, simulatedScalingRun } from '../hydra/simulated.js';
import type { Series } from './figure.js';
import { cdfPoints, ratePoints } from './series.js';

/** How much a run of the Hydra figures does: `--quick` does less. */
export interface HydraPlan {
  sequencers: number[];
  seeds: number[];
  /** Sequencer counts whose delays are drawn as CDFs. */
  cdfSequencers: number[];
  rerouteMs: number;
}

export const hydraPlan = (quick: boolean): HydraPlan => quick
  ? { sequencers: [1, 2, 4, 8, 16], seeds: [1], cdfSequencers: [1, 4, 16], rerouteMs: 200 }
  : { sequencers: Array.from({ length: 16 }, (_, i) => i + 1), seeds: [1, 2, 3], cdfSequencers: [1, 2, 4, 8, 16], rerouteMs: 200 };

/** The series behind the Hydra figures, whatever produced them. */
export interface HydraData {
  /** One sentence: what setting produced the series. */
  setting: string;
  /** x: sequencers, y: ordered messages/s. */
  scaling: Series[];
  /** CDF points, x: send → in-order delivery delay in µs. */
  delays: Series[];
  /** x: ms since start, y: messages/s delivered at one receiver. */
  failover: Series[];
  failoverEvents: { x: number; label: string }[];
  /** What was run for each figure. */
  captions: { scaling: string; delays: string; failover: string };
  /** What each figure's series show. */
  findings: { scaling: string; delays: string; failover: string };
  /** The numbers behind the series, for paper.json. */
  json: Record<string, unknown>;
}

/** A source of the Hydra series; the calibrated cost model or loopback runs can stand in for this one. */
export type HydraSource = (plan: HydraPlan, log: (line: string) => void) => HydraData;

const SATURATE = 1.5;
const HALF_LOAD = 0.9;
const BUCKET_S = 0.01;

/** The deterministic simulator with a per-sequencer packet budget (bench/hydra/simulated.ts). */
export const budgetedSimulator: HydraSource = (plan, log) => {
  const budget = SIM_BUDGET_PER_SEQUENCER_PER_S;
  const scaling = plan.sequencers.map((n) => {
    const runs = plan.seeds.map((seed) => simulatedScalingRun(n, SATURATE * n * budget, seed).point.ordered_per_s);
    const mean = runs.reduce((a, b) => a + b, 0) / runs.length;
    log(`  hydra scaling: ${n} sequencer(s), offered ${(SATURATE * n * budget).toFixed(0)}/s: ordered ${mean.toFixed(0)}/s (${runs.length} seed(s))`);
    return { sequencers: n, offered_per_s: SATURATE * n * budget, ordered_per_s: mean, ordered_per_s_by_seed: runs };
  });
  const delays = plan.cdfSequencers.map((n) => {
    const all = plan.seeds.flatMap((seed) => simulatedScalingRun(n, HALF_LOAD * n * budget, seed).delays_s).sort((a, b) => a - b);
    const q = (f: number) => all[Math.min(all.length - 1, Math.floor(f * all.length))] ?? NaN;
    log(`  hydra delay: ${n} sequencer(s) at ${HALF_LOAD * 100}% load: p50 ${(q(0.5) * 1e6).toFixed(0)} µs, p99 ${(q(0.99) * 1e6).toFixed(0)} µs`);
    return { sequencers: n, messages: all.length, p50_s: q(0.5), p99_s: q(0.99), points: cdfPoints(all.map((d) => d * 1e6)) };
  });
  const runs = (['single-sequencer', 'hydra'] as const).map((design) => simulatedFailoverRun(design, plan.rerouteMs, plan.seeds[0]));
  for (const r of runs) log(`  hydra failover: ${r.result.design}: outage ${(r.result.outage_s * 1e3).toFixed(1)} ms, ${r.result.messages_lost} lost`);
  const [single, hydra] = runs;
  const end = Math.min(...runs.map((r) => r.clients_stop_s));
  const ms = (s: number) => s * 1e3;
  return {
    setting: `the deterministic simulator running the real Hydra cores, each sequencer a switch with a budget of ${budget.toFixed(0)} messages/s, links 5 ± 2 µs`,
    scaling: [{ name: 'Hydra', source: 'model', points: scaling.map((p) => ({ x: p.sequencers, y: p.ordered_per_s })) }],
    delays: delays.map((d) => ({ name: `${d.sequencers} sequencer${d.sequencers > 1 ? 's' : ''}`, source: 'model' as const, points: d.points })),
    failover: runs.map((r) => ({
      name: r.result.design === 'hydra' ? `Hydra, ${r.sequencers} sequencers` : `single sequencer, ${plan.rerouteMs} ms reroute`,
      source: 'model' as const,
      points: ratePoints(r.deliveries_s, BUCKET_S, 0, end).map((p) => ({ x: ms(p.x), y: p.y })),
    })),
    failoverEvents: [
      { x: ms(single!.crash_at_s), label: 'sequencer 0 dies' },
      { x: ms(single!.detected_at_s), label: 'failure detected' },
      { x: ms(single!.detected_at_s) + plan.rerouteMs, label: 'single sequencer rerouted' },
    ],
    captions: {
      scaling: `offered load ${SATURATE * 100} % of the sequencers' total budget, so the ordered rate is the capacity; mean of ${plan.seeds.length} seed(s)`,
      delays: `offered load ${HALF_LOAD * 100} % of the sequencers' total budget; every message receiver 0 delivered after the warm-up, ${plan.seeds.length} seed(s) pooled`,
      failover: `clients offer ${single!.offered_per_s} messages/s; sequencer 0 dies; failure detection ${((single!.detected_at_s - single!.crash_at_s) * 1e3).toFixed(0)} ms; the single sequencer's standby takes over ${plan.rerouteMs} ms later, once the network is rerouted; Hydra (${hydra!.sequencers} sequencers) reconfigures the dead one away`,
    },
    findings: {
      scaling: scaling.map((p) => `${p.sequencers}: ${(p.ordered_per_s / scaling[0]!.ordered_per_s).toFixed(1)}×`).join(', ')
        + ` the ordered rate of ${scaling[0]!.sequencers} sequencer(s), whose budget is ${(budget / 1e3).toFixed(0)}k messages/s`,
      delays: delays.map((d) => `${d.sequencers} sequencer(s): p50 ${(d.p50_s * 1e6).toFixed(0)} µs, p99 ${(d.p99_s * 1e6).toFixed(0)} µs`).join('; '),
      failover: runs.map((r) => `${r.result.design}: longest gap in delivery ${(r.result.outage_s * 1e3).toFixed(0)} ms, ${r.result.messages_lost} messages never delivered`).join('; '),
    },
    json: {
      budget_per_sequencer_per_s: budget,
      scaling: { offered_share_of_budget: SATURATE, points: scaling },
      delays: { offered_share_of_budget: HALF_LOAD, runs: delays.map(({ points: _, ...d }) => d) },
      failover: { reroute_ms: plan.rerouteMs, bucket_s: BUCKET_S, runs: runs.map((r) => r.result) },
    },
  };
};
