import { type HalfSipKey, halfSipHash32Words, toWords } from './halfsiphash.js';

/**
 * AOM-HM's authenticator (NeoBFT §4.3; docs/neobft.md#aom-hm-halfsiphash-mac-vectors): one HalfSipHash-2-4 MAC per receiver, each under
 * that receiver's own key, over the same message. The whole vector travels with the message,
 * so a receiver that forwards it lets another receiver check its own entry (transferable
 * authentication). Keys are held as two word arrays so the hot loop touches no objects.
 */
export class MacVectorKeys {
  readonly k0: Uint32Array;
  readonly k1: Uint32Array;

  constructor(keys: readonly HalfSipKey[]) {
    this.k0 = Uint32Array.from(keys, (k) => k.k0);
    this.k1 = Uint32Array.from(keys, (k) => k.k1);
  }

  get size(): number {
    return this.k0.length;
  }

  /** Fills `out` (one entry per receiver) with the MACs of `message`. */
  sign(message: Uint8Array, out = new Uint32Array(this.size)): Uint32Array {
    const words = toWords(message);
    for (let r = 0; r < this.k0.length; r++) out[r] = halfSipHash32Words(this.k0[r]!, this.k1[r]!, words, message.length);
    return out;
  }
}

/** A receiver checks only its own entry of a vector, with only its own key. */
export function verifyMacEntry(key: HalfSipKey, receiver: number, message: Uint8Array, vector: Uint32Array): boolean {
  if (receiver < 0 || receiver >= vector.length) return false;
  return halfSipHash32Words(key.k0, key.k1, toWords(message), message.length) === vector[receiver];
}
