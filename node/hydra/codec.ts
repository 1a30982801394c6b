import type { Codec } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { type Part, type PartTable, Reader, Writer, namesOf, partOf, popcount32, readBody } from '../runtime/wire.js';
import { vrWire } from '../vr/codec.js';
import { configCommandPart, configPart, configStatePart, flushStateSize, readFlushState, readSeqs, writeFlushState } from './config-wire.js';
import type { ConfigVrMsg, FlushState, HydraMsg } from './messages.js';

/** First byte of every Hydra datagram; anything else is another protocol's or garbage. */
export const HYDRA_MAGIC = 0x48;

const TYPE = {
  client: 1,
  groupcast: 2,
  flush: 3,
  aggflush: 4,
  flushreq: 5,
  suspect: 6,
  prepare: 7,
  removereport: 8,
  addreport: 9,
  config: 10,
  configack: 11,
  load: 12,
  join: 13,
} as const;
const NAMES = namesOf(TYPE);
/** The type byte of the configuration service's own replication (Viewstamped Replication, node/vr). */
const REPLICATION = 14;

const vr = vrWire(configStatePart, configCommandPart);

type OwnMsg = Exclude<HydraMsg, ConfigVrMsg>;
type Body<T extends OwnMsg['type']> = Part<Extract<OwnMsg, { type: T }>>;
const isReplication = (m: HydraMsg): m is ConfigVrMsg => m.type.startsWith('vr-');

function readGroups(r: Reader): number {
  const groups = r.u32('group bitmap');
  if (groups === 0) throw new WireError('bad-field', 'empty destination-group bitmap');
  return groups;
}

function readPayload(r: Reader): Uint8Array {
  const len = r.u16('payload length');
  return r.bytesOf(len, 'payload');
}

const client: Body<'client'> = {
  size: (m) => 2 + 4 + 4 + 8 + 2 + m.payload.length,
  write: (w, m) => w.u16(m.client).u32(m.msgId).u32(m.groups).u64(m.sentAt).u16(m.payload.length).raw(m.payload),
  read(r) {
    const id = r.u16('client id');
    const msgId = r.u32('message id');
    const groups = readGroups(r);
    const sentAt = r.u64('sent-at');
    return { type: 'client', client: id, msgId, groups, sentAt, payload: readPayload(r) };
  },
};

const groupcast: Body<'groupcast'> = {
  size: (m) => 4 + 2 + 8 + 4 + 8 * m.stamps.length + 2 + 4 + 8 + 2 + m.payload.length,
  write(w, m) {
    w.u32(m.config).u16(m.sequencer).u64(m.clock).u32(m.groups);
    for (const s of m.stamps) w.u64(s);
    w.u16(m.client).u32(m.msgId).u64(m.sentAt).u16(m.payload.length).raw(m.payload);
  },
  read(r) {
    const config = r.u32('config');
    const sequencer = r.u16('sequencer');
    const clock = r.u64('clock');
    const groups = readGroups(r);
    const n = popcount32(groups);
    const stamps = new Array<number>(n);
    for (let i = 0; i < n; i++) stamps[i] = r.u64('stamp');
    const from = r.u16('client id');
    const msgId = r.u32('message id');
    const sentAt = r.u64('sent-at');
    return { type: 'groupcast', config, sequencer, clock, groups, stamps, client: from, msgId, sentAt, payload: readPayload(r) };
  },
};

const flush: Body<'flush'> = {
  size: (m) => 1 + flushStateSize(m),
  write: (w, m) => writeFlushState(w.u8(m.solicited ? 1 : 0), m),
  read(r) {
    const flags = r.u8('flush flags');
    return { type: 'flush', solicited: (flags & 1) === 1, ...readFlushState(r) };
  },
};

const aggflush: Body<'aggflush'> = {
  size: (m) => 1 + m.flushes.reduce((n, f) => n + flushStateSize(f), 0),
  write(w, m) {
    w.u8(m.flushes.length);
    for (const f of m.flushes) writeFlushState(w, f);
  },
  read(r) {
    const n = r.u8('flush count');
    const flushes: FlushState[] = [];
    for (let i = 0; i < n; i++) flushes.push(readFlushState(r));
    return { type: 'aggflush', flushes };
  },
};

const prepare: Body<'prepare'> = {
  size: () => 4 + 1 + 2,
  write: (w, m) => w.u32(m.newConfig).u8(m.change === 'add' ? 1 : 0).u16(m.sequencer),
  read(r) {
    const newConfig = r.u32('config');
    const kind = r.u8('change kind');
    if (kind > 1) throw new WireError('bad-field', `unknown configuration change kind ${kind}`);
    return { type: 'prepare', newConfig, change: kind === 1 ? 'add' : 'remove', sequencer: r.u16('sequencer') };
  },
};

const removereport: Body<'removereport'> = {
  size: (m) => 4 + 2 + 2 + 8 + 1 + 8 * m.seqs.length,
  write(w, m) {
    w.u32(m.newConfig).u16(m.reporter).u16(m.sequencer).u64(m.clock).u8(m.seqs.length);
    for (const s of m.seqs) w.u64(s);
  },
  read(r) {
    const newConfig = r.u32('config');
    const reporter = r.u16('reporter');
    const sequencer = r.u16('sequencer');
    const clock = r.u64('clock');
    return { type: 'removereport', newConfig, reporter, sequencer, clock, seqs: readSeqs(r, 'report') };
  },
};

const load: Body<'load'> = {
  size: () => 2 + 8,
  write: (w, m) => w.u16(m.sequencer).f64(m.rate),
  read(r) {
    const sequencer = r.u16('sequencer');
    const rate = r.f64('rate');
    if (!Number.isFinite(rate) || rate < 0) throw new WireError('bad-field', `load rate ${rate} is not a rate`);
    return { type: 'load', sequencer, rate };
  },
};

/** Each Hydra message's body, after the magic and type bytes. */
const HYDRA: PartTable<OwnMsg> = {
  client, groupcast, flush, aggflush, prepare, removereport, load, config: configPart,
  flushreq: {
    size: () => 2 + 4,
    write: (w, m) => w.u16(m.receiver).u32(m.config),
    read: (r) => ({ type: 'flushreq', receiver: r.u16('receiver'), config: r.u32('config') }),
  },
  suspect: {
    size: () => 2 + 4 + 2,
    write: (w, m) => w.u16(m.receiver).u32(m.config).u16(m.sequencer),
    read: (r) => ({ type: 'suspect', receiver: r.u16('receiver'), config: r.u32('config'), sequencer: r.u16('sequencer') }),
  },
  addreport: {
    size: () => 4 + 2 + 2 + 8,
    write: (w, m) => w.u32(m.newConfig).u16(m.receiver).u16(m.sequencer).u64(m.clock),
    read: (r) => ({ type: 'addreport', newConfig: r.u32('config'), receiver: r.u16('receiver'), sequencer: r.u16('sequencer'), clock: r.u64('clock') }),
  },
  configack: {
    size: () => 2 + 4,
    write: (w, m) => w.u16(m.member).u32(m.config),
    read: (r) => ({ type: 'configack', member: r.u16('member'), config: r.u32('config') }),
  },
  join: {
    size: () => 2 + 8,
    write: (w, m) => w.u16(m.sequencer).u64(m.incarnation),
    read: (r) => ({ type: 'join', sequencer: r.u16('sequencer'), incarnation: r.u64('incarnation') }),
  },
};

export const hydraCodec: Codec<HydraMsg> = {
  encode(m) {
    if (isReplication(m)) {
      const w = new Writer(2 + vr.size(m)).u8(HYDRA_MAGIC).u8(REPLICATION);
      vr.write(w, m);
      return w.done();
    }
    const part = partOf(HYDRA, m);
    const w = new Writer(2 + part.size(m)).u8(HYDRA_MAGIC).u8(TYPE[m.type]);
    part.write(w, m);
    return w.done();
  },

  decode(bytes) {
    const r = new Reader(bytes);
    const magic = r.u8('magic');
    if (magic !== HYDRA_MAGIC) throw new WireError('bad-magic', `not a Hydra packet (first byte 0x${magic.toString(16)})`);
    const type = r.u8('type');
    const m: HydraMsg = type === REPLICATION ? vr.read(r) : readBody(r, HYDRA, NAMES, type, 'Hydra');
    r.end(m.type);
    return m;
  },
};
