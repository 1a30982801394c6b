import { performance } from 'node:perf_hooks';
import type { Clock, Scheduler } from '../net/transport.js';

/** Wall-clock microseconds since the Unix epoch (integers stay exact in a double until 2255). */
export function wallMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * The machine's clock, skewed and drifting to emulate loosely synchronized switch clocks. As
 * under NTP or PTP, drift does not accumulate forever: every `syncPeriodUs` the clock is
 * stepped back to its fixed offset, so its error stays within skew ± drift·period. The step
 * can move the clock backwards; cores that need strict monotonicity (a Hydra sequencer)
 * enforce it themselves, which these steps exercise.
 */
export class EmulatedClock implements Clock {
  private readonly origin = wallMicros();
  constructor(private readonly skewUs = 0, private readonly drift = 0, private readonly syncPeriodUs = 1_000_000) {}
  now(): number {
    const real = wallMicros();
    const sinceSync = (real - this.origin) % this.syncPeriodUs;
    return Math.floor(real + this.skewUs + sinceSync * this.drift);
  }
}

/** setTimeout-backed scheduler (millisecond granularity, as Node's timers have). */
export const timerScheduler: Scheduler = {
  schedule(afterUs, fn) {
    return setTimeout(fn, afterUs / 1000);
  },
  cancel(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
