import { WireError, type WireReason } from './core.js';

const TWO32 = 0x1_0000_0000;

/**
 * Bounds-checked big-endian reader over one datagram. Every read past the end throws a
 * WireError('truncated'), so a malformed packet becomes a counted rejection, never a crash.
 */
export class Reader {
  private readonly view: DataView;
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) {
      throw new WireError('truncated', `packet ends inside ${what} (offset ${this.pos}, length ${this.bytes.length})`);
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** A 64-bit unsigned field holding a value below 2^53 (clocks in µs, sequence numbers). */
  u64(what = 'u64'): number {
    this.need(8, what);
    const hi = this.view.getUint32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    this.pos += 8;
    if (hi >= 0x20_0000) throw new WireError('out-of-range', `${what} exceeds 2^53`);
    return hi * TWO32 + lo;
  }

  f64(what = 'f64'): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  bytesOf(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Fails when bytes are left over: a length field and the datagram disagree. */
  end(what: string): void {
    if (this.pos !== this.bytes.length) {
      throw new WireError('trailing-bytes', `${this.bytes.length - this.pos} unexpected bytes after ${what}`);
    }
  }
}

/** Big-endian writer into an exactly-sized buffer (callers compute the size first). */
export class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(v: number): this {
    this.view.setUint8(this.pos++, v);
    return this;
  }

  u16(v: number): this {
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  u64(v: number): this {
    this.view.setUint32(this.pos, Math.floor(v / TWO32));
    this.view.setUint32(this.pos + 4, v >>> 0);
    this.pos += 8;
    return this;
  }

  f64(v: number): this {
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
    return this;
  }

  raw(b: Uint8Array): this {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** The filled buffer; throws if the size computed up front was wrong (a bug, not bad input). */
  done(): Uint8Array {
    if (this.pos !== this.bytes.length) throw new Error(`wrote ${this.pos} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

/** How one kind of value (a message body, a state, a command) is sized, written and read inside a datagram. */
export interface Part<X> {
  size(x: X): number;
  write(w: Writer, x: X): void;
  /** Throws WireError on a malformed or out-of-range value. */
  read(r: Reader): X;
}

/** The members of the union M a message of type T can be (one whose `type` is itself a union counts for each). */
type OfType<M extends { type: string }, T> = M extends unknown ? (T extends M['type'] ? M : never) : never;

/** A protocol's message bodies as a table: one Part per message type, after the type byte. */
export type PartTable<M extends { type: string }> = { readonly [T in M['type']]: Part<OfType<M, T>> };

/** A message's row of its table (the compiler cannot tie `table[m.type]` to `m`'s own member of the union). */
export const partOf = <M extends { type: string }>(table: PartTable<M>, m: M): Part<M> => table[m.type as M['type']] as unknown as Part<M>;

/** The inverse of a message type → type byte map: which type a byte on the wire names. */
export function namesOf<K extends string>(codes: Readonly<Record<K, number>>): Readonly<Record<number, K | undefined>> {
  return Object.fromEntries(Object.entries(codes).map(([k, v]) => [v, k])) as Record<number, K>;
}

/** Reads the body of a message whose type byte was `code` (names: its type); a byte naming no type is a WireError. */
export function readBody<M extends { type: string }>(
  r: Reader, table: PartTable<M>, names: Readonly<Record<number, M['type'] | undefined>>, code: number, protocol: string,
): M {
  const type = names[code];
  if (type === undefined) throw new WireError('unknown-type', `unknown ${protocol} message type ${code}`);
  return (table[type] as unknown as Part<M>).read(r);
}

const utf8 = new TextDecoder();

/** A JSON document carried in a packet (a result, a snapshot), parsed; a WireError(reason) if it is not JSON. */
export function parseJson(bytes: Uint8Array, reason: WireReason, what: string): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch (e) {
    throw new WireError(reason, `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
