import type { Codec } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { type Part, Reader, Writer, namesOf, readBody, type PartTable, partOf } from '../runtime/wire.js';
import type { Checkpoint, OrderHeader, OrderedEntry, SignedResponse, ViewChange, ZyzzyvaMsg } from './messages.js';

export const ZYZZYVA_MAGIC = 0x5a;
export const ZYZZYVA_TYPE = {
  request: 1, 'order-req': 2, 'spec-response': 3, commit: 4, 'local-commit': 5, 'confirm-req': 6, 'fill-hole': 7, 'i-hate-the-primary': 8,
  pom: 9, checkpoint: 10, 'view-change': 11, 'new-view': 12, 'view-confirm': 13, 'state-request': 14, 'state-reply': 15,
} as const;
const NAMES = namesOf(ZYZZYVA_TYPE);

const MAX_BATCH = 1024;
/** Bounds on what a VIEW-CHANGE or NEW-VIEW may carry (the ordering window is far smaller). */
const MAX_ENTRIES = 1024;
const MAX_PROOF = 64;

// Field kinds, each a Part; a message is a record of them in order (`record`).
const u8: Part<number> = { size: () => 1, write: (w, v) => void w.u8(v), read: (r) => r.u8() };
const u16: Part<number> = { size: () => 2, write: (w, v) => void w.u16(v), read: (r) => r.u16() };
const u32: Part<number> = { size: () => 4, write: (w, v) => void w.u32(v), read: (r) => r.u32() };
const u64: Part<number> = { size: () => 8, write: (w, v) => void w.u64(v), read: (r) => r.u64() };
const hash: Part<Uint8Array> = { size: () => 32, write: (w, v) => void w.raw(v), read: (r) => r.bytesOf(32, 'hash').slice() };
/** Length-prefixed bytes (u8, u16 or u32 length). */
const bytes = (len: Part<number>, max: number): Part<Uint8Array> => ({
  size: (v) => len.size(0) + v.length,
  write: (w, v) => {
    len.write(w, v.length);
    w.raw(v);
  },
  read: (r) => {
    const n = len.read(r);
    if (n > max) throw new WireError('bad-field', `${n} bytes (at most ${max})`);
    return r.bytesOf(n, 'bytes').slice();
  },
});
const sig = bytes(u8, 64);
function list<X>(item: Part<X>, len: Part<number>, max: number): Part<X[]> {
  return {
    size: (xs) => len.size(0) + xs.reduce((n, x) => n + item.size(x), 0),
    write(w, xs) {
      len.write(w, xs.length);
      for (const x of xs) item.write(w, x);
    },
    read(r) {
      const n = len.read(r);
      if (n > max) throw new WireError('bad-field', `${n} items (at most ${max})`);
      return Array.from({ length: n }, () => item.read(r));
    },
  };
}
const batch = list(bytes(u32, 65_535), u16, MAX_BATCH);

/** A record of fields written in order; `type` is set on read when given. */
function record<T>(fields: [string, Part<never>][], type?: string): Part<T> {
  const fs = fields as unknown as [keyof T & string, Part<unknown>][];
  return {
    size: (x) => fs.reduce((n, [k, p]) => n + p.size(x[k]), 0),
    write: (w, x) => fs.forEach(([k, p]) => p.write(w, x[k])),
    read: (r) => {
      const x: Record<string, unknown> = type ? { type } : {};
      for (const [k, p] of fs) x[k] = p.read(r);
      return x as T;
    },
  };
}
type F = [string, Part<never>];
const f = (name: string, part: Part<any>): F => [name, part as Part<never>]; // eslint-disable-line @typescript-eslint/no-explicit-any

const headerFields = [f('view', u32), f('seq', u64), f('history', hash), f('digest', hash)];
export const orderHeaderPart = record<OrderHeader>([...headerFields, f('sig', sig)]);
export const signedResponsePart = record<SignedResponse>([
  f('view', u32), f('seq', u64), f('history', hash), f('resultDigest', hash), f('client', u16), f('requestId', u64), f('replica', u8), f('sig', sig),
]);
const checkpointPart = record<Checkpoint>([f('seq', u64), f('view', u32), f('history', hash), f('digest', hash), f('replica', u8), f('sig', sig)], 'checkpoint');
const entryPart = record<OrderedEntry>([f('seq', u64), f('view', u32), f('history', hash), f('batch', batch)]);
const proof = list(checkpointPart, u8, MAX_PROOF);
const cc = list(signedResponsePart, u8, MAX_PROOF);
const viewChangePart = record<ViewChange>([f('view', u32), f('replica', u8), f('checkpoint', proof), f('cc', cc), f('ordered', list(entryPart, u16, MAX_ENTRIES)), f('sig', sig)], 'view-change');

const TABLE: PartTable<ZyzzyvaMsg> = {
  request: record([f('payload', bytes(u32, 1 << 20))], 'request'),
  'order-req': record([...headerFields, f('sig', sig), f('batch', batch)], 'order-req'),
  'spec-response': record([f('response', signedResponsePart), f('result', bytes(u16, 65_535)), f('order', orderHeaderPart)], 'spec-response'),
  commit: record([f('client', u16), f('requestId', u64), f('cc', cc)], 'commit'),
  'local-commit': record([
    f('view', u32), f('seq', u64), f('history', hash), f('client', u16), f('requestId', u64), f('replica', u8), f('result', bytes(u16, 65_535)), f('mac', hash),
  ], 'local-commit'),
  'confirm-req': record([f('view', u32), f('replica', u8), f('have', u64), f('payload', bytes(u32, 1 << 20))], 'confirm-req'),
  'fill-hole': record([f('view', u32), f('from', u64), f('to', u64), f('replica', u8)], 'fill-hole'),
  'i-hate-the-primary': record([f('view', u32), f('replica', u8), f('sig', sig)], 'i-hate-the-primary'),
  pom: record([f('a', orderHeaderPart), f('b', orderHeaderPart)], 'pom'),
  checkpoint: checkpointPart,
  'view-change': viewChangePart,
  'new-view': record([f('view', u32), f('replica', u8), f('changes', list(viewChangePart, u8, MAX_PROOF)), f('sig', sig)], 'new-view'),
  'view-confirm': record([f('view', u32), f('seq', u64), f('history', hash), f('replica', u8), f('sig', sig)], 'view-confirm'),
  'state-request': record([f('seq', u64), f('replica', u8)], 'state-request'),
  'state-reply': record([f('seq', u64), f('replica', u8), f('checkpoint', proof), f('snapshot', bytes(u32, 1 << 26))], 'state-reply'),
};

/** A message's body bytes without its type byte (what signatures cover, with the signature emptied). */
export function bodyBytes(m: ZyzzyvaMsg): Uint8Array {
  const part = partOf(TABLE, m);
  const w = new Writer(part.size(m));
  part.write(w, m);
  return w.done();
}

/** The bytes of a nested value (a header, a signed response) by its part. */
export function partBytes<X>(part: Part<X>, x: X): Uint8Array {
  const w = new Writer(part.size(x));
  part.write(w, x);
  return w.done();
}

export const zyzzyvaCodec: Codec<ZyzzyvaMsg> = {
  encode(m) {
    const part = partOf(TABLE, m);
    const w = new Writer(2 + part.size(m)).u8(ZYZZYVA_MAGIC).u8(ZYZZYVA_TYPE[m.type]);
    part.write(w, m);
    return w.done();
  },
  decode(b) {
    const r = new Reader(b);
    const magic = r.u8('magic');
    if (magic !== ZYZZYVA_MAGIC) throw new WireError('bad-magic', `not a Zyzzyva packet (first byte 0x${magic.toString(16)})`);
    const m = readBody(r, TABLE, NAMES, r.u8('type'), 'Zyzzyva');
    r.end(m.type);
    return m;
  },
};
