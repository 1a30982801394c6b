import { availableParallelism } from 'node:os';
import { CLIENTS, type Loaded, loadedRun } from '../bft/index.js';
import { allCpu } from '../support/units.js';
import { HYDRAPAXOS_KV, paxosKvRun } from '../hydra-apps/index.js';
import { type LoopbackModelOptions, MODELLED_BFT, type Modelled, type ModelledBft, type Side, isPaxos, modelLoopback } from './loopback-model.js';
import { runtimePerWakeup } from './member-runtime.js';
import type { CalibrationTable } from './table.js';

/** One configuration's loopback run beside the model's prediction of it (`model_validation` in --json). */
export interface ValidationEntry {
  name: string;
  measured: Outcome;
  predicted: Outcome & { ops_per_s_whole_cores: number };
  /** (predicted − measured) / measured. */
  throughput_error: number;
  p50_error: number | null;
  p99_error: number | null;
  /** Cores' worth of CPU the testbed's processes got (ops/s × CPU per op); the rest went to other tenants. */
  cpu_cores_used: number;
  /** The members' cost per wake-up, measured from the unreplicated run just before this one (µs). */
  runtime_us_per_wakeup: Partial<Record<Side, number>>;
  /** Whether that is this configuration's own run (its CPU per op then holds by construction; the others test it). */
  runtime_measured_here: boolean;
}

interface Outcome {
  ops_per_s: number;
  p50_s: number | null;
  p99_s: number | null;
  cpu_us_per_op: Partial<Record<Side, number>>;
  datagrams_per_op: number | null;
}

export interface Validation {
  cores: number;
  entries: ValidationEntry[];
  not_covered: string[];
}

/** The configuration the members' runtime cost is measured from: the fewest message types, so the least for the calibration to get wrong. */
const RUNTIME_FROM: ModelledBft = 'unreplicated';
const err = (p: number | null, m: number | null) => (p === null || m === null || m === 0 ? null : (p - m) / m);
const sides = (cpu: Loaded['cpu_s_per_op']) =>
  Object.fromEntries(Object.entries(cpu).filter(([k]) => k !== 'busiest_replica').map(([k, s]) => [k, s * 1e6])) as Partial<Record<Side, number>>;

/**
 * Runs each key-value configuration of `bench bft` and `bench hydra-apps` on loopback (their benches' runners) and models the
 * same run: every member a one-thread process on a host with this process's cores, each core at the
 * share of it the testbed's processes got in that run. The members' cost per wake-up is
 * measured from an unreplicated run made just before each configuration's (the load of a shared
 * machine drifts within minutes), then predicts that configuration.
 */
export async function validateModel(table: CalibrationTable, seconds: number, log: (line: string) => void): Promise<Validation> {
  const cores = availableParallelism();
  const base: Omit<LoopbackModelOptions, 'share' | 'wakeUs'> = { clients: CLIENTS, cores, warmUpUs: 300_000, windowUs: 2_000_000, seed: 1 };
  const shareOf = (run: Loaded) => Math.min(1, (run.ops_per_s * allCpu(run.cpu_s_per_op)) / cores);
  const loopback = async (config: Modelled) => {
    log(`loopback ${config}: ${seconds}s with ${CLIENTS} clients on ${cores} core(s)`);
    // Each through its bench's own runner (bench bft's, bench hydra-apps').
    const run = isPaxos(config) ? await paxosKvRun(config, seconds) : await loadedRun(config, seconds);
    log(`  ${run.ops_per_s.toFixed(0)} ops/s, p50 ${((run.latency_s.p50 ?? NaN) * 1e3).toFixed(2)} ms, all CPU ${(allCpu(run.cpu_s_per_op) * 1e6).toFixed(0)} µs/op`);
    return run;
  };
  const entries: ValidationEntry[] = [];
  for (const config of [RUNTIME_FROM, ...MODELLED_BFT.filter((c) => c !== RUNTIME_FROM), ...HYDRAPAXOS_KV]) {
    const anchor = await loopback(RUNTIME_FROM);
    const run = config === RUNTIME_FROM ? anchor : await loopback(config);
    const perSide = runtimePerWakeup(anchor.cpu_s_per_op, modelLoopback(RUNTIME_FROM, table, { ...base, share: shareOf(anchor), wakeUs: {} }));
    // Sequencers, a SequencerGroup's replicas, its aggregator and configuration service are member processes like a replica: they pay a replica's cost per wake-up.
    const r = perSide.replicas;
    const wakeUs = { ...perSide, sequencers: r, receivers: r, aggregators: r, configs: r };
    const share = shareOf(run);
    const p = modelLoopback(config, table, { ...base, share, wakeUs });
    const whole = modelLoopback(config, table, { ...base, share: 1, wakeUs });
    log(`model ${config}: per wake-up: replicas ${r?.toFixed(1)}, clients ${perSide.clients?.toFixed(1)} µs; ${p.ops_per_s.toFixed(0)} ops/s at ${(share * 100).toFixed(0)} % of ${cores} core(s) (${whole.ops_per_s.toFixed(0)} on whole cores), p50 ${((p.p50_s ?? NaN) * 1e3).toFixed(2)} ms`);
    entries.push({
      name: config,
      measured: { ops_per_s: run.ops_per_s, p50_s: run.latency_s.p50, p99_s: run.latency_s.p99, cpu_us_per_op: sides(run.cpu_s_per_op), datagrams_per_op: run.datagrams_per_op },
      predicted: { ops_per_s: p.ops_per_s, p50_s: p.p50_s, p99_s: p.p99_s, cpu_us_per_op: p.cpuUsPerOp, datagrams_per_op: p.sentPerOp, ops_per_s_whole_cores: whole.ops_per_s },
      throughput_error: (p.ops_per_s - run.ops_per_s) / run.ops_per_s,
      p50_error: err(p.p50_s, run.latency_s.p50),
      p99_error: err(p.p99_s, run.latency_s.p99),
      cpu_cores_used: share * cores,
      runtime_us_per_wakeup: wakeUs,
      runtime_measured_here: config === RUNTIME_FROM,
    });
  }
  return { cores, entries, not_covered: ['bench hydra-apps HydraTxn (not in the loopback model)', 'load curves (fewer clients)'] };
}
