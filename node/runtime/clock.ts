import { performance } from 'node:perf_hooks';
import type { Clock, Scheduler } from './transport.js';

/**
 * Where the millisecond clock ticked, in monotonic milliseconds: read the monotonic clock, the
 * wall clock and the monotonic clock again until the wall clock turns over; the turn happened
 * after the last read that showed the old millisecond began and before the first read that
 * shows the new one ended. A read interrupted there (preempted) widens that window, so of
 * `ticks` turns the narrowest wins. Returns the wall-minus-monotonic offset and the window width.
 */
export function calibrateWallClock(monoMs: () => number, wallMs: () => number, ticks = 3): { offsetMs: number; widthMs: number } {
  let best = { offsetMs: 0, widthMs: Infinity };
  for (let t = 0; t < ticks || (best.widthMs > 0.05 && t < 20); t++) {
    let lastOldStart = monoMs();
    const old = wallMs();
    for (;;) {
      const start = monoMs();
      const wall = wallMs();
      const end = monoMs();
      if (wall === old) {
        lastOldStart = start;
        continue;
      }
      if (end - lastOldStart < best.widthMs) best = { offsetMs: wall - (lastOldStart + end) / 2, widthMs: end - lastOldStart };
      break;
    }
  }
  return best;
}

let wallOffsetMs: number | null = null;

/**
 * Wall-clock microseconds since the Unix epoch (integers stay exact in a double until 2255):
 * the monotonic clock plus an offset calibrated once against Date.now()'s millisecond turns
 * (Node has no microsecond wall clock). Not `performance.timeOrigin`: Node pairs a monotonic and
 * a wall clock read once at start-up, and a process delayed between the two — many members
 * starting at once on two cores — keeps that error: one HydraTxn client in a few hundred ran
 * 5.3 ms ahead of every other member (its requests were stamped before it sent them). Members on
 * one machine must agree: the checker orders different clients' operations by these times, and
 * that offset made it report real-time violations that never happened.
 */
export function wallMicros(): number {
  wallOffsetMs ??= calibrateWallClock(() => performance.now(), Date.now).offsetMs;
  return Math.floor((wallOffsetMs + performance.now()) * 1000);
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
