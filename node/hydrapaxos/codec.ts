import { HYDRA_MAGIC, hydraCodec } from '../hydra/codec.js';
import type { HydraMsg } from '../hydra/messages.js';
import type { Codec } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { Reassembly } from '../protocol/reassembly.js';
import { type Part, type PartTable, Reader, Writer, namesOf, partOf, readBody } from '../runtime/wire.js';
import type {
  GapStatus, Hold, HoldState, HydraPaxosMsg, LogEntry, LogPoint, LogState, OrderKey, PaxosMsg, PxTxnAnswer, SlotId, Stamp,
  StreamCounter,
} from './messages.js';

/** First byte of every HydraPaxos protocol datagram (Hydra's own start with HYDRA_MAGIC). */
export const PAXOS_MAGIC = 0x50;
/** The largest datagram we send; bigger messages travel as chunks. */
export const MAX_DATAGRAM = 60_000;
const MAX_ITEMS = 1_000_000;
/** Chunks of one message at most (about 240 MB). */
const MAX_CHUNKS = 4096;

const TYPE = {
  'px-reply': 1, 'px-gap-request': 2, 'px-gap-reply': 3, 'px-gap-commit': 4, 'px-gap-commit-ok': 5, 'px-sync': 6,
  'px-sync-ok': 7, 'px-sync-commit': 8, 'px-view-change-request': 9, 'px-view-change': 10, 'px-start-view': 11,
  'px-state-request': 12, 'px-state-empty': 13, 'px-state': 14, 'px-chunk': 15, 'px-hold': 16, 'px-hold-ok': 17,
  'px-txn-find': 18, 'px-txn-answer': 19, 'px-txn-decide': 20, 'px-txn-decided': 21,
} as const;
const NAMES = namesOf(TYPE);
const STATUS: GapStatus[] = ['found', 'noop', 'missing', 'truncated'];
const HOLD_STATES: HoldState[] = ['held', 'released', 'dropped'];
const ANSWERS: PxTxnAnswer['status'][] = ['found', 'held', 'dropped'];

const SLOT = 2 + 4 + 8;
const KEY = 8 + 2;
const STREAM = 2 + 4 + 8;
const STAMP = SLOT + 1;
const HOLD = STAMP + 1;
const entrySize = (e: LogEntry) => SLOT + 8 + 4 + 8 * e.stamps.length + 4 + e.request.length;
const optEntrySize = (e: LogEntry | null) => 1 + (e ? entrySize(e) : 0);
const pointSize = (p: LogPoint) => KEY + 4 + STREAM * p.streams.length;
const logSize = (l: LogState) => pointSize(l.sync) + 4 + l.entries.reduce((n, e) => n + entrySize(e), 0) + 4
  + SLOT * l.noops.length + pointSize(l.end) + 4 + HOLD * l.holds.length;
const blobSize = (b: Uint8Array | null) => 4 + (b ? b.length : 0);

const slotW = (w: Writer, s: SlotId) => w.u16(s.sequencer).u32(s.epoch).u64(s.seq);
const keyW = (w: Writer, k: OrderKey) => w.u64(k.clock).u16(k.sequencer);
const blobW = (w: Writer, b: Uint8Array) => w.u32(b.length).raw(b);
function entryW(w: Writer, e: LogEntry): void {
  slotW(w, e.slot).u64(e.clock).u32(e.groups);
  for (const s of e.stamps) w.u64(s);
  blobW(w, e.request);
}
const optEntryW = (w: Writer, e: LogEntry | null) => (e ? entryW(w.u8(1), e) : w.u8(0));
const stampW = (w: Writer, s: Stamp) => slotW(w.u8(s.group), s);
const holdW = (w: Writer, h: Hold) => stampW(w, h).u8(HOLD_STATES.indexOf(h.state));

function pointW(w: Writer, p: LogPoint): void {
  keyW(w, p.key).u32(p.streams.length);
  for (const s of p.streams) w.u16(s.sequencer).u32(s.epoch).u64(s.next);
}

function slotsW(w: Writer, slots: SlotId[]): void {
  w.u32(slots.length);
  for (const s of slots) slotW(w, s);
}

function logW(w: Writer, l: LogState): void {
  pointW(w, l.sync);
  w.u32(l.entries.length);
  for (const e of l.entries) entryW(w, e);
  slotsW(w, l.noops);
  pointW(w, l.end);
  w.u32(l.holds.length);
  for (const h of l.holds) holdW(w, h);
}

// Keys are stored with clock -1 meaning "before everything"; on the wire that is 2^64-1 → we shift by one.
const wireKey = (k: OrderKey): OrderKey => ({ clock: k.clock + 1, sequencer: k.sequencer + 1 });

const wireLog = (l: LogState): LogState => ({
  ...l, sync: { ...l.sync, key: wireKey(l.sync.key) }, end: { ...l.end, key: wireKey(l.end.key) },
});

const slotR = (r: Reader): SlotId => ({ sequencer: r.u16('sequencer'), epoch: r.u32('epoch'), seq: r.u64('sequence number') });
const keyR = (r: Reader): OrderKey => ({ clock: r.u64('clock') - 1, sequencer: r.u16('sequencer') - 1 });

function count(r: Reader, what: string): number {
  const n = r.u32(`${what} count`);
  if (n > MAX_ITEMS) throw new WireError('bad-field', `${what} count ${n} is out of bounds`);
  return n;
}

function blobR(r: Reader, what: string): Uint8Array {
  return r.bytesOf(r.u32(`${what} length`), what);
}

function entryR(r: Reader): LogEntry {
  const slot = slotR(r);
  const clock = r.u64('clock');
  const groups = r.u32('groups');
  const stamps: number[] = [];
  for (let g = groups; g !== 0; g &= g - 1) stamps.push(r.u64('stamp'));
  return { slot, clock, groups, stamps, request: blobR(r, 'request') };
}

const optEntryR = (r: Reader): LogEntry | null => (r.u8('entry flag') ? entryR(r) : null);

function stampR(r: Reader): Stamp {
  const group = r.u8('group');
  return { group, ...slotR(r) };
}

function holdR(r: Reader): Hold {
  const stamp = stampR(r);
  const code = r.u8('hold state');
  const state = HOLD_STATES[code];
  if (!state) throw new WireError('bad-field', `unknown hold state ${code}`);
  return { ...stamp, state };
}

function pointR(r: Reader): LogPoint {
  const key = keyR(r);
  const n = count(r, 'stream');
  const streams: StreamCounter[] = [];
  for (let i = 0; i < n; i++) streams.push({ sequencer: r.u16('sequencer'), epoch: r.u32('epoch'), next: r.u64('next') });
  return { key, streams };
}

function slotsR(r: Reader, what: string): SlotId[] {
  const slots: SlotId[] = [];
  for (let i = count(r, what); i > 0; i--) slots.push(slotR(r));
  return slots;
}

function logR(r: Reader): LogState {
  const sync = pointR(r);
  const entries: LogEntry[] = [];
  for (let i = count(r, 'entry'); i > 0; i--) entries.push(entryR(r));
  const noops = slotsR(r, 'no-op');
  const end = pointR(r);
  const holds: Hold[] = [];
  for (let i = count(r, 'hold'); i > 0; i--) holds.push(holdR(r));
  return { sync, entries, noops, end, holds };
}

type Body<T extends PaxosMsg['type']> = Part<Extract<PaxosMsg, { type: T }>>;

const reply: Body<'px-reply'> = {
  size: (m) => 4 + 1 + 2 + 2 + 8 + SLOT + 1 + blobSize(m.result),
  write(w, m) {
    slotW(w.u32(m.view).u8(m.group).u16(m.replica).u16(m.client).u64(m.requestId), m.slot).u8(m.result ? 1 : 0);
    blobW(w, m.result ?? new Uint8Array(0));
  },
  read(r) {
    const view = r.u32('view');
    const group = r.u8('group');
    const replica = r.u16('replica');
    const client = r.u16('client');
    const requestId = r.u64('request id');
    const slot = slotR(r);
    const has = r.u8('result flag');
    const result = blobR(r, 'result');
    return { type: 'px-reply', view, group, replica, client, requestId, slot, result: has ? result : null };
  },
};

/** GAP-REQUEST and GAP-COMMIT-OK: a view, a replica and a slot. */
function viewReplicaSlot<T extends 'px-gap-request' | 'px-gap-commit-ok'>(type: T): Part<{ type: T; view: number; replica: number; slot: SlotId }> {
  return {
    size: () => 4 + 2 + SLOT,
    write: (w, m) => slotW(w.u32(m.view).u16(m.replica), m.slot),
    read: (r) => ({ type, view: r.u32('view'), replica: r.u16('replica'), slot: slotR(r) }),
  };
}

const gapReply: Body<'px-gap-reply'> = {
  size: (m) => 4 + 2 + SLOT + 1 + (m.entry ? entrySize(m.entry) : 0),
  write(w, m) {
    slotW(w.u32(m.view).u16(m.replica), m.slot).u8(STATUS.indexOf(m.status) | (m.entry ? 0x80 : 0));
    if (m.entry) entryW(w, m.entry);
  },
  read(r) {
    const view = r.u32('view');
    const replica = r.u16('replica');
    const slot = slotR(r);
    const flags = r.u8('status');
    const status = STATUS[flags & 0x7f];
    if (!status) throw new WireError('bad-field', `unknown gap status ${flags & 0x7f}`);
    const entry = flags & 0x80 ? entryR(r) : null;
    if ((status === 'found') !== (entry !== null)) throw new WireError('bad-field', 'a gap reply carries an entry exactly when found');
    return { type: 'px-gap-reply', view, replica, slot, status, entry };
  },
};

const gapCommit: Body<'px-gap-commit'> = {
  size: () => 4 + SLOT,
  write: (w, m) => slotW(w.u32(m.view), m.slot),
  read: (r) => ({ type: 'px-gap-commit', view: r.u32('view'), slot: slotR(r) }),
};

const sync: Body<'px-sync'> = {
  size: (m) => 4 + pointSize(m.point) + 4 + SLOT * m.noops.length,
  write(w, m) {
    pointW(w.u32(m.view), { ...m.point, key: wireKey(m.point.key) });
    slotsW(w, m.noops);
  },
  read(r) {
    const view = r.u32('view');
    const point = pointR(r);
    return { type: 'px-sync', view, point, noops: slotsR(r, 'no-op') };
  },
};

const syncOk: Body<'px-sync-ok'> = {
  size: () => 4 + 2 + KEY,
  write: (w, m) => keyW(w.u32(m.view).u16(m.replica), wireKey(m.key)),
  read: (r) => ({ type: 'px-sync-ok', view: r.u32('view'), replica: r.u16('replica'), key: keyR(r) }),
};

const syncCommit: Body<'px-sync-commit'> = {
  size: () => 4 + KEY,
  write: (w, m) => keyW(w.u32(m.view), wireKey(m.key)),
  read: (r) => ({ type: 'px-sync-commit', view: r.u32('view'), key: keyR(r) }),
};

const viewChangeRequest: Body<'px-view-change-request'> = {
  size: () => 4,
  write: (w, m) => w.u32(m.view),
  read: (r) => ({ type: 'px-view-change-request', view: r.u32('view') }),
};

const viewChange: Body<'px-view-change'> = {
  size: (m) => 4 + 2 + 4 + logSize(m.log),
  write: (w, m) => logW(w.u32(m.view).u16(m.replica).u32(m.lastNormal), wireLog(m.log)),
  read: (r) => ({ type: 'px-view-change', view: r.u32('view'), replica: r.u16('replica'), lastNormal: r.u32('last normal view'), log: logR(r) }),
};

const startView: Body<'px-start-view'> = {
  size: (m) => 4 + logSize(m.log),
  write: (w, m) => logW(w.u32(m.view), wireLog(m.log)),
  read: (r) => ({ type: 'px-start-view', view: r.u32('view'), log: logR(r) }),
};

const stateRequest: Body<'px-state-request'> = {
  size: () => 2 + 4,
  write: (w, m) => w.u16(m.replica).u32(m.nonce),
  read: (r) => ({ type: 'px-state-request', replica: r.u16('replica'), nonce: r.u32('nonce') }),
};

const stateEmpty: Body<'px-state-empty'> = {
  size: () => 2 + 4 + 1,
  write: (w, m) => w.u16(m.replica).u32(m.nonce).u8(m.recovering ? 1 : 0),
  read: (r) => ({ type: 'px-state-empty', replica: r.u16('replica'), nonce: r.u32('nonce'), recovering: r.u8('recovering') === 1 }),
};

const state: Body<'px-state'> = {
  size: (m) => 2 + 4 + 4 + 1 + blobSize(m.config) + blobSize(m.store) + logSize(m.log),
  write(w, m) {
    w.u16(m.replica).u32(m.nonce).u32(m.view).u8(m.normal ? 1 : 0);
    blobW(blobW(w, m.config), m.store);
    logW(w, wireLog(m.log));
  },
  read(r) {
    const replica = r.u16('replica');
    const nonce = r.u32('nonce');
    const view = r.u32('view');
    const normal = r.u8('status') === 1;
    const config = blobR(r, 'configuration');
    const store = blobR(r, 'store');
    return { type: 'px-state', replica, nonce, view, normal, config, store, log: logR(r) };
  },
};

const chunk: Body<'px-chunk'> = {
  size: (m) => 2 + 4 + 4 + 4 + blobSize(m.bytes),
  write: (w, m) => blobW(w.u16(m.sender).u32(m.nonce).u32(m.index).u32(m.total), m.bytes),
  read(r) {
    const sender = r.u16('sender');
    const nonce = r.u32('nonce');
    const index = r.u32('chunk index');
    const total = r.u32('chunk count');
    if (total === 0 || index >= total || total > MAX_CHUNKS) throw new WireError('bad-field', `chunk ${index} of ${total}`);
    return { type: 'px-chunk', sender, nonce, index, total, bytes: blobR(r, 'chunk') };
  },
};

const hold: Body<'px-hold'> = {
  size: () => 4 + HOLD,
  write: (w, m) => holdW(w.u32(m.view), m.hold),
  read: (r) => ({ type: 'px-hold', view: r.u32('view'), hold: holdR(r) }),
};

const holdOk: Body<'px-hold-ok'> = {
  size: () => 4 + 2 + HOLD,
  write: (w, m) => holdW(w.u32(m.view).u16(m.replica), m.hold),
  read: (r) => ({ type: 'px-hold-ok', view: r.u32('view'), replica: r.u16('replica'), hold: holdR(r) }),
};

/** TXN-FIND and TXN-DECIDED: a group and a stamp. */
function groupStamp<T extends 'px-txn-find' | 'px-txn-decided'>(type: T): Part<{ type: T; group: number; stamp: Stamp }> {
  return {
    size: () => 1 + STAMP,
    write: (w, m) => stampW(w.u8(m.group), m.stamp),
    read: (r) => ({ type, group: r.u8('group'), stamp: stampR(r) }),
  };
}

const txnAnswer: Body<'px-txn-answer'> = {
  size: (m) => 1 + STAMP + 1 + optEntrySize(m.entry),
  write: (w, m) => optEntryW(stampW(w.u8(m.group), m.stamp).u8(ANSWERS.indexOf(m.status)), m.entry),
  read(r) {
    const group = r.u8('group');
    const stamp = stampR(r);
    const code = r.u8('answer');
    const status = ANSWERS[code];
    if (!status) throw new WireError('bad-field', `unknown answer ${code}`);
    const entry = optEntryR(r);
    if ((status === 'found') !== (entry !== null)) throw new WireError('bad-field', 'an answer carries the message exactly when found');
    return { type: 'px-txn-answer', group, stamp, status, entry };
  },
};

const txnDecide: Body<'px-txn-decide'> = {
  size: (m) => 1 + STAMP + optEntrySize(m.entry),
  write: (w, m) => optEntryW(stampW(w.u8(m.group), m.stamp), m.entry),
  read: (r) => ({ type: 'px-txn-decide', group: r.u8('group'), stamp: stampR(r), entry: optEntryR(r) }),
};

/** Each HydraPaxos message's body, after the magic and type bytes. */
const PAXOS: PartTable<PaxosMsg> = {
  'px-reply': reply, 'px-gap-request': viewReplicaSlot('px-gap-request'), 'px-gap-reply': gapReply, 'px-gap-commit': gapCommit,
  'px-gap-commit-ok': viewReplicaSlot('px-gap-commit-ok'), 'px-sync': sync, 'px-sync-ok': syncOk, 'px-sync-commit': syncCommit,
  'px-view-change-request': viewChangeRequest, 'px-view-change': viewChange, 'px-start-view': startView,
  'px-state-request': stateRequest, 'px-state-empty': stateEmpty, 'px-state': state, 'px-chunk': chunk, 'px-hold': hold,
  'px-hold-ok': holdOk, 'px-txn-find': groupStamp('px-txn-find'), 'px-txn-answer': txnAnswer, 'px-txn-decide': txnDecide,
  'px-txn-decided': groupStamp('px-txn-decided'),
};

function encodePaxos(m: PaxosMsg): Uint8Array {
  const part = partOf(PAXOS, m);
  const w = new Writer(2 + part.size(m)).u8(PAXOS_MAGIC).u8(TYPE[m.type]);
  part.write(w, m);
  return w.done();
}

function decodePaxos(bytes: Uint8Array): PaxosMsg {
  const r = new Reader(bytes);
  r.u8('magic');
  const m = readBody(r, PAXOS, NAMES, r.u8('type'), 'HydraPaxos');
  r.end(m.type);
  return m;
}

const isHydra = (m: HydraPaxosMsg): m is HydraMsg => !m.type.startsWith('px-');

/** Hydra's datagrams and HydraPaxos's share one socket; the first byte tells them apart. */
export const hydraPaxosCodec: Codec<HydraPaxosMsg> = {
  encode: (m) => (isHydra(m) ? hydraCodec.encode(m) : encodePaxos(m)),
  decode(bytes) {
    if (bytes.length > 0 && bytes[0] === HYDRA_MAGIC) return hydraCodec.decode(bytes);
    if (bytes.length > 0 && bytes[0] === PAXOS_MAGIC) return decodePaxos(bytes);
    throw new WireError('bad-magic', `neither a Hydra nor a HydraPaxos packet (first byte 0x${(bytes[0] ?? 0).toString(16)})`);
  },
};

/** Splits an encoded message into chunk messages when it exceeds one datagram. */
export function chunksOf(m: PaxosMsg, sender: number, nonce: number): PaxosMsg[] {
  const bytes = encodePaxos(m);
  if (bytes.length <= MAX_DATAGRAM) return [m];
  const per = MAX_DATAGRAM - 64;
  const total = Math.ceil(bytes.length / per);
  return Array.from({ length: total }, (_, index) => ({
    type: 'px-chunk' as const, sender, nonce, index, total, bytes: bytes.subarray(index * per, (index + 1) * per),
  }));
}

/** Chunked HydraPaxos messages put back together per (sender, nonce), at most 16 at once (the protocol's Reassembly). */
export class PaxosReassembly {
  private readonly chunks = new Reassembly(16, MAX_CHUNKS);

  /** The whole message once its last chunk is in, else null; throws WireError for a chunk or a whole that is malformed. */
  add(c: { sender: number; nonce: number; index: number; total: number; bytes: Uint8Array }): PaxosMsg | null {
    const whole = this.chunks.add(`${c.sender}/${c.nonce}`, c.index, c.total, c.bytes);
    if (!whole) return null;
    const m = decodePaxos(whole);
    if (m.type === 'px-chunk') throw new WireError('bad-field', 'a chunked message holds another chunk');
    return m;
  }
}
