import type { HydraSim } from '../../node/hydra/simulation.js';
import { receiverNode } from '../../node/hydra/topology.js';

/**
 * Every receiver's deliveries, as the Hydra checker takes them: one history per boot — a
 * restarted receiver starts a rejoined history, and the one before it ended in a crash.
 */
export function histories(sim: HydraSim) {
  return sim.lives.map((l) => ({
    receiver: l.node, group: l.group, deliveries: l.deliveries, rejoined: l.boot > 0, crashed: sim.logs.get(l.node) !== l,
  }));
}

/** Messages sent between `from` and `to` (virtual µs) must be delivered, as messages, at every receiver of their groups. */
export function undelivered(sim: HydraSim, from: number, to: number): string[] {
  const delivered = new Map<number, Set<string>>();
  for (const l of sim.logs.values()) {
    delivered.set(l.node, new Set(l.deliveries.flatMap((d) => (d.kind === 'message' ? [`${d.msg.client}:${d.msg.msgId}`] : []))));
  }
  const missing: string[] = [];
  for (const s of sim.sent) {
    if (s.at < from || s.at > to) continue;
    for (let g = 0; g < sim.topology.groups; g++) {
      if (!(s.groups & (1 << g))) continue;
      for (let r = 0; r < sim.topology.receiversPerGroup; r++) {
        if (!delivered.get(receiverNode(g, r))!.has(`${s.client}:${s.msgId}`)) missing.push(`${s.client}:${s.msgId}@g${g}r${r}`);
      }
    }
  }
  return missing;
}
