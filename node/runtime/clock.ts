import { performance } from 'node:perf_hooks';
import type { Clock, Scheduler } from '../net/transport.js';

/** Wall-clock microseconds since the Unix epoch (integers stay exact in a double until 2255). */
export function wallMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * The machine's clock, optionally skewed and drifting to emulate loosely synchronized switch
 * clocks. The emulated clock never runs backwards (drift > -1 is enforced by the schema);
 * protocol cores that need strict monotonicity (a Hydra sequencer) enforce it themselves.
 */
export class EmulatedClock implements Clock {
  private readonly origin = wallMicros();
  constructor(private readonly skewUs = 0, private readonly drift = 0) {}
  now(): number {
    const real = wallMicros();
    return Math.floor(this.origin + this.skewUs + (real - this.origin) * (1 + this.drift));
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
