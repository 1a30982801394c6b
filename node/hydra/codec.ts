import type { Codec } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { Reader, Writer, popcount32 } from '../runtime/wire.js';
import { vrWire } from '../vr/codec.js';
import { configCommandPart, configPart, configStatePart, flushStateSize, readFlushState, readSeqs, writeFlushState } from './config-wire.js';
import type { FlushState, HydraMsg } from './messages.js';

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
  /** The configuration service's own replication (Viewstamped Replication, node/vr). */
  replication: 14,
} as const;

const vr = vrWire(configStatePart, configCommandPart);

function readGroups(r: Reader): number {
  const groups = r.u32('group bitmap');
  if (groups === 0) throw new WireError('bad-field', 'empty destination-group bitmap');
  return groups;
}

function readPayload(r: Reader): Uint8Array {
  const len = r.u16('payload length');
  return r.bytesOf(len, 'payload');
}

export const hydraCodec: Codec<HydraMsg> = {
  encode(m) {
    switch (m.type) {
      case 'client': {
        const w = new Writer(2 + 2 + 4 + 4 + 8 + 2 + m.payload.length);
        return w.u8(HYDRA_MAGIC).u8(TYPE.client).u16(m.client).u32(m.msgId).u32(m.groups).u64(m.sentAt)
          .u16(m.payload.length).raw(m.payload).done();
      }
      case 'groupcast': {
        const w = new Writer(2 + 4 + 2 + 8 + 4 + 8 * m.stamps.length + 2 + 4 + 8 + 2 + m.payload.length);
        w.u8(HYDRA_MAGIC).u8(TYPE.groupcast).u32(m.config).u16(m.sequencer).u64(m.clock).u32(m.groups);
        for (const s of m.stamps) w.u64(s);
        return w.u16(m.client).u32(m.msgId).u64(m.sentAt).u16(m.payload.length).raw(m.payload).done();
      }
      case 'flush': {
        const w = new Writer(2 + 1 + flushStateSize(m));
        w.u8(HYDRA_MAGIC).u8(TYPE.flush).u8(m.solicited ? 1 : 0);
        writeFlushState(w, m);
        return w.done();
      }
      case 'aggflush': {
        const w = new Writer(2 + 1 + m.flushes.reduce((n, f) => n + flushStateSize(f), 0));
        w.u8(HYDRA_MAGIC).u8(TYPE.aggflush).u8(m.flushes.length);
        for (const f of m.flushes) writeFlushState(w, f);
        return w.done();
      }
      case 'flushreq':
        return new Writer(8).u8(HYDRA_MAGIC).u8(TYPE.flushreq).u16(m.receiver).u32(m.config).done();
      case 'suspect':
        return new Writer(10).u8(HYDRA_MAGIC).u8(TYPE.suspect).u16(m.receiver).u32(m.config).u16(m.sequencer).done();
      case 'prepare':
        return new Writer(9).u8(HYDRA_MAGIC).u8(TYPE.prepare).u32(m.newConfig).u8(m.change === 'add' ? 1 : 0)
          .u16(m.sequencer).done();
      case 'removereport': {
        const w = new Writer(2 + 4 + 2 + 2 + 8 + 1 + 8 * m.seqs.length);
        w.u8(HYDRA_MAGIC).u8(TYPE.removereport).u32(m.newConfig).u16(m.reporter).u16(m.sequencer).u64(m.clock)
          .u8(m.seqs.length);
        for (const s of m.seqs) w.u64(s);
        return w.done();
      }
      case 'addreport':
        return new Writer(18).u8(HYDRA_MAGIC).u8(TYPE.addreport).u32(m.newConfig).u16(m.receiver)
          .u16(m.sequencer).u64(m.clock).done();
      case 'config': {
        const w = new Writer(2 + configPart.size(m));
        w.u8(HYDRA_MAGIC).u8(TYPE.config);
        configPart.write(w, m);
        return w.done();
      }
      case 'configack':
        return new Writer(8).u8(HYDRA_MAGIC).u8(TYPE.configack).u16(m.member).u32(m.config).done();
      case 'load':
        return new Writer(12).u8(HYDRA_MAGIC).u8(TYPE.load).u16(m.sequencer).f64(m.rate).done();
      case 'join':
        return new Writer(12).u8(HYDRA_MAGIC).u8(TYPE.join).u16(m.sequencer).u64(m.incarnation).done();
      default: {
        const w = new Writer(2 + vr.size(m));
        w.u8(HYDRA_MAGIC).u8(TYPE.replication);
        vr.write(w, m);
        return w.done();
      }
    }
  },

  decode(bytes) {
    const r = new Reader(bytes);
    const magic = r.u8('magic');
    if (magic !== HYDRA_MAGIC) throw new WireError('bad-magic', `not a Hydra packet (first byte 0x${magic.toString(16)})`);
    const type = r.u8('type');
    let m: HydraMsg;
    switch (type) {
      case TYPE.client: {
        const client = r.u16('client id');
        const msgId = r.u32('message id');
        const groups = readGroups(r);
        const sentAt = r.u64('sent-at');
        m = { type: 'client', client, msgId, groups, sentAt, payload: readPayload(r) };
        break;
      }
      case TYPE.groupcast: {
        const config = r.u32('config');
        const sequencer = r.u16('sequencer');
        const clock = r.u64('clock');
        const groups = readGroups(r);
        const n = popcount32(groups);
        const stamps = new Array<number>(n);
        for (let i = 0; i < n; i++) stamps[i] = r.u64('stamp');
        const client = r.u16('client id');
        const msgId = r.u32('message id');
        const sentAt = r.u64('sent-at');
        m = { type: 'groupcast', config, sequencer, clock, groups, stamps, client, msgId, sentAt, payload: readPayload(r) };
        break;
      }
      case TYPE.flush: {
        const flags = r.u8('flush flags');
        m = { type: 'flush', solicited: (flags & 1) === 1, ...readFlushState(r) };
        break;
      }
      case TYPE.aggflush: {
        const n = r.u8('flush count');
        const flushes: FlushState[] = [];
        for (let i = 0; i < n; i++) flushes.push(readFlushState(r));
        m = { type: 'aggflush', flushes };
        break;
      }
      case TYPE.flushreq:
        m = { type: 'flushreq', receiver: r.u16('receiver'), config: r.u32('config') };
        break;
      case TYPE.suspect:
        m = { type: 'suspect', receiver: r.u16('receiver'), config: r.u32('config'), sequencer: r.u16('sequencer') };
        break;
      case TYPE.prepare: {
        const newConfig = r.u32('config');
        const kind = r.u8('change kind');
        if (kind > 1) throw new WireError('bad-field', `unknown configuration change kind ${kind}`);
        m = { type: 'prepare', newConfig, change: kind === 1 ? 'add' : 'remove', sequencer: r.u16('sequencer') };
        break;
      }
      case TYPE.removereport: {
        const newConfig = r.u32('config');
        const reporter = r.u16('reporter');
        const sequencer = r.u16('sequencer');
        const clock = r.u64('clock');
        m = { type: 'removereport', newConfig, reporter, sequencer, clock, seqs: readSeqs(r, 'report') };
        break;
      }
      case TYPE.addreport:
        m = {
          type: 'addreport', newConfig: r.u32('config'), receiver: r.u16('receiver'),
          sequencer: r.u16('sequencer'), clock: r.u64('clock'),
        };
        break;
      case TYPE.config:
        m = configPart.read(r);
        break;
      case TYPE.configack:
        m = { type: 'configack', member: r.u16('member'), config: r.u32('config') };
        break;
      case TYPE.load: {
        const sequencer = r.u16('sequencer');
        const rate = r.f64('rate');
        if (!Number.isFinite(rate) || rate < 0) throw new WireError('bad-field', `load rate ${rate} is not a rate`);
        m = { type: 'load', sequencer, rate };
        break;
      }
      case TYPE.join:
        m = { type: 'join', sequencer: r.u16('sequencer'), incarnation: r.u64('incarnation') };
        break;
      case TYPE.replication:
        m = vr.read(r);
        break;
      default:
        throw new WireError('unknown-type', `unknown Hydra message type ${type}`);
    }
    r.end(m.type);
    return m;
  },
};
