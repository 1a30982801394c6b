import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WireError } from '../../node/runtime/core.js';

/**
 * Property-based fuzzing of decoders (fast-check): damaged copies of valid encodings and noise
 * must decode or be refused with the codec's own WireError — never a RangeError, TypeError or
 * SyntaxError, which would kill the member that received the datagram (issue 18, bad input).
 *
 * Runs are few (FUZZ_RUNS, default 300 per property) so that the suite stays fast; each run
 * draws a fresh seed, and a failure prints it with the shrunk counterexample: FUZZ_SEED=<seed>
 * (with FUZZ_PATH=<path>) replays exactly that case.
 */
export function fuzzParameters<T>(): fc.Parameters<T> {
  const seed = process.env.FUZZ_SEED;
  return {
    numRuns: Number(process.env.FUZZ_RUNS ?? 300),
    ...(seed !== undefined && { seed: Number(seed), path: process.env.FUZZ_PATH }),
  };
}

/** Decodes `bytes`, or returns null when the decoder refuses them with a WireError; any other error escapes. */
export function decodeOrRefuse<M>(decode: (bytes: Uint8Array) => M, bytes: Uint8Array): M | null {
  try {
    return decode(bytes);
  } catch (err) {
    if (err instanceof WireError) return null;
    throw err;
  }
}

/** Any JSON value, as UTF-8 bytes: what a JSON payload's decoder must also refuse cleanly when the shape is wrong. */
export const anyJson: fc.Arbitrary<Uint8Array> = fc.json({ maxDepth: 3 }).map((j) => new TextEncoder().encode(j));

/** Values that tend to break length and count fields. */
const edgeByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 0x7f, 0x80, 0xfe, 0xff));

/** One edit of a datagram (plain data, so that a counterexample prints readably). */
type Damage =
  | { flip: number; bit: number }
  | { set: number; to: number }
  | { cut: number }
  | { insert: number; bytes: Uint8Array }
  | { remove: number; count: number };

const noise = fc.uint8Array({ maxLength: 64 });
const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ flip: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ set: fc.nat(), to: edgeByte }),
  fc.record({ cut: fc.nat() }),
  fc.record({ insert: fc.nat(), bytes: noise }),
  fc.record({ remove: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
);

function apply(b: Uint8Array, d: Damage): Uint8Array {
  const at = (i: number, room = 0) => i % (b.length + room);
  if ('cut' in d) return b.slice(0, at(d.cut, 1));
  if ('insert' in d) return new Uint8Array(Buffer.concat([b.subarray(0, at(d.insert, 1)), d.bytes, b.subarray(at(d.insert, 1))]));
  if ('remove' in d) return new Uint8Array(Buffer.concat([b.subarray(0, at(d.remove, 1)), b.subarray(at(d.remove, 1) + d.count)]));
  const out = b.slice();
  if (out.length === 0) return out;
  if ('flip' in d) out[at(d.flip)] ^= 1 << d.bit;
  else out[at(d.set)] = d.to;
  return out;
}

/**
 * Damaged copies of the valid encodings — one to four edits each: flipped bits, bytes set to
 * edge values (lengths, counts), truncations, inserted noise, removed runs — and plain noise.
 */
export function damaged(valid: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const edited = fc.tuple(fc.constantFrom(...valid), fc.array(damage, { minLength: 1, maxLength: 4 }))
    .map(([b, edits]) => edits.reduce(apply, b));
  return fc.oneof({ weight: 6, arbitrary: edited }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) });
}

export interface DecoderUnderTest<M> {
  decode(bytes: Uint8Array): M;
  /** Valid encodings the damage starts from. */
  valid: readonly Uint8Array[];
  /** When given: whatever decodes re-encodes to bytes that decode to the same value. */
  encode?(m: M): Uint8Array;
  /** Makes a damaged datagram pass an integrity check (a checksum) so that the fuzzing reaches the fields behind it. */
  repair?(bytes: Uint8Array): void;
  /** Further inputs, e.g. well-formed JSON of any shape for a JSON payload. */
  more?: fc.Arbitrary<Uint8Array>;
  /** Fewer runs than the default, for a decoder that verifies a signature. */
  runs?: number;
}

/** The decoder refuses every damaged datagram with a WireError or decodes it to a value that round-trips. */
export function fuzzDecoder<M>(d: DecoderUnderTest<M>): void {
  const repaired = d.repair
    ? fc.tuple(damaged(d.valid), fc.boolean()).map(([b, fix]) => {
      if (fix) d.repair!(b);
      return b;
    })
    : damaged(d.valid);
  const inputs = d.more ? fc.oneof(repaired, d.more) : repaired;
  fc.assert(fc.property(inputs, (bytes) => {
    const m = decodeOrRefuse((b) => d.decode(b), bytes);
    if (m !== null && d.encode) assert.deepStrictEqual(d.decode(d.encode(m)), m);
  }), { ...fuzzParameters(), ...(d.runs !== undefined && !process.env.FUZZ_RUNS && { numRuns: d.runs }) });
}
