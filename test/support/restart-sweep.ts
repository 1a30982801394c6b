import type { SimNetwork } from '../../node/net/sim.js';
import type { NodeId } from '../../node/runtime/core.js';

/**
 * Crashes the member `pick()` names at `firstAt` (virtual µs) and boots it again with empty
 * state `downUs` later; with `times` 2, picks again `gapUs` after the restart and does it once more.
 */
export function restartWithEmptyState(net: SimNetwork, o: { pick: () => NodeId; firstAt: number; downUs: number; times: number; gapUs: number }): void {
  const once = (at: number, left: number) => net.at(at, () => {
    const node = o.pick();
    net.crash(node);
    net.at(net.now + o.downUs, () => {
      net.restart(node);
      if (left > 1) once(net.now + o.gapUs, left - 1);
    });
  });
  once(o.firstAt, o.times);
}

/** The value most members hold (a restarted member may still be behind: pick faults by what the others run). */
export function mostCommon<T>(values: readonly T[], key: (v: T) => string = String): T {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(key(v), (counts.get(key(v)) ?? 0) + 1);
  return values.reduce((a, b) => ((counts.get(key(b)) ?? 0) > (counts.get(key(a)) ?? 0) ? b : a));
}
