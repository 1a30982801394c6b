import { equalBytes } from '../../node/crypto/bytes.js';
import type { Replica } from '../../node/neobft/replica.js';

/**
 * No two correct replicas hold different values in a slot both have executed, or different
 * states after executing the same number of slots (execution is a function of the log alone).
 */
export function neoDivergence(replicas: readonly Replica[], faulty?: number): string | null {
  const correct = replicas.filter((r, i) => r && i !== faulty);
  for (let s = 1; correct.some((r) => r.executedSlots >= s); s++) {
    // A replica that took the others' state never saw the slots it skipped.
    const held = correct.filter((r) => r.executedSlots >= s).map((r) => r.slotDigest(s)).filter((d): d is Uint8Array => d !== undefined);
    if (held.some((d) => !equalBytes(d, held[0]!))) return `slot ${s} differs`;
  }
  for (const a of correct) {
    const b = correct.find((x) => x.executedSlots === a.executedSlots && !equalBytes(x.stateDigest(), a.stateDigest()));
    if (b) return `states differ after slot ${a.executedSlots}`;
  }
  return null;
}
