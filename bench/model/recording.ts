import type { SimNetwork } from '../../node/net/sim.js';
import type { NodeId } from '../../node/runtime/core.js';

/** A datagram a member received in a recorded run: when (its clock, µs) and the bytes. */
export interface RecordedInput {
  at: number;
  bytes: Uint8Array;
}

/**
 * Runs a simulated testbed for `runUs` and keeps every datagram sent to `members`, in send order,
 * stamped with its arrival time on the sender's perfect link (the recording testbeds have no
 * faults and no clock skew, so that is when the member's core took it in).
 */
export function recordInputs(net: SimNetwork, members: readonly NodeId[], runUs: number): Map<NodeId, RecordedInput[]> {
  const inputs = new Map<NodeId, RecordedInput[]>(members.map((m) => [m, []]));
  const before = net.tap;
  net.tap = (from, to, bytes) => {
    before?.(from, to, bytes);
    inputs.get(to)?.push({ at: Math.floor(net.now + net.faults.delayUs), bytes: bytes.slice() });
  };
  try {
    net.runFor(runUs);
  } finally {
    net.tap = before;
  }
  return inputs;
}
