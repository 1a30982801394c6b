import { z } from 'zod';
import type { NodeId } from './core.js';
import type { SeededRandom } from './random.js';
import type { Transport } from './transport.js';

/** Network impairments a member's transport applies to what it sends (emulating a lossy fabric). */
export const networkImpairments = z.strictObject({
  loss: z.number().min(0).max(0.5).default(0).describe('Probability that a datagram is dropped.'),
  duplicate: z.number().min(0).max(0.5).default(0).describe('Probability that a datagram is delivered twice.'),
  reorder: z.number().min(0).max(0.5).default(0)
    .describe('Probability that a datagram is held back (up to 4 × (delay + jitter) + 1 ms) so later ones overtake it.'),
  delayMicros: z.number().int().min(0).max(1_000_000).default(0).describe('Added one-way delay in microseconds.'),
  jitterMicros: z.number().int().min(0).max(1_000_000).default(0).describe('Uniform random extra delay in microseconds.'),
}).describe('Network impairments emulated in every member\'s transport.');

export type NetworkImpairments = z.output<typeof networkImpairments>;

export const isImpaired = (n: NetworkImpairments) =>
  n.loss > 0 || n.duplicate > 0 || n.reorder > 0 || n.delayMicros > 0 || n.jitterMicros > 0;

/**
 * Wraps a real transport with seeded loss, duplication, delay, jitter and reordering on send.
 * Delays use the runtime's timers, so they are at least a millisecond on Node; the simulated
 * network is the place for microsecond-exact delays.
 */
export function impair(inner: Transport, n: NetworkImpairments, rng: SeededRandom): Transport & { dropped: number } {
  const wrapped = {
    dropped: 0,
    send(to: NodeId, bytes: Uint8Array) {
      if (rng.chance(n.loss)) {
        wrapped.dropped++;
        return;
      }
      const copies = rng.chance(n.duplicate) ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        let delay = n.delayMicros + rng.next() * n.jitterMicros;
        if (rng.chance(n.reorder)) delay += rng.next() * (4 * (n.delayMicros + n.jitterMicros) + 1000);
        if (delay <= 0) inner.send(to, bytes);
        else setTimeout(() => inner.send(to, bytes), delay / 1000);
      }
    },
    onReceive: (h: (bytes: Uint8Array) => void) => inner.onReceive(h),
    close: () => inner.close(),
  };
  return wrapped;
}
