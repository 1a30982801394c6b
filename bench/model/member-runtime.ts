import type { LoopbackModelRun, Side } from './loopback-model.js';

/** Process CPU per op by side, as `switchyard up` reports it from the members' own counters (seconds). */
export type MeasuredCpu = Partial<Record<Side | 'busiest_replica', number>>;

/**
 * A member process's CPU per wake-up beyond what the calibration times (its core and its socket):
 * the scheduler and cold caches on a crowded core, the event-loop turn, the Driver, Prometheus
 * counters and histograms, a client's recorded history, /metrics scrapes, GC. For each side, what
 * its processes spent per op in a real loopback run (process_cpu_seconds_total) less what the model
 * charges it per op without this cost, over its wake-ups per op in the model (work that found a
 * process idle). Never negative.
 */
export function runtimePerWakeup(measured: MeasuredCpu, modelled: LoopbackModelRun): Partial<Record<Side, number>> {
  const out: Partial<Record<Side, number>> = {};
  for (const side of Object.keys(modelled.cpuUsPerOp) as Side[]) {
    const real = measured[side];
    const wakeups = modelled.wakeupsPerOp[side];
    if (real === undefined || !wakeups) continue;
    out[side] = Math.max(0, (real * 1e6 - modelled.cpuUsPerOp[side]!) / wakeups);
  }
  return out;
}
