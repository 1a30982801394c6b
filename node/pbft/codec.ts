import type { Codec } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { Reader, Writer } from '../runtime/wire.js';
import type { PbftMsg } from './messages.js';

export const PBFT_MAGIC = 0x50;
const TYPE = { request: 1, 'pre-prepare': 2, prepare: 3, commit: 4, reply: 5 } as const;
const MAX_BATCH = 1024;

function size(m: PbftMsg): number {
  switch (m.type) {
    case 'request':
      return 4 + m.payload.length;
    case 'pre-prepare':
      return 4 + 8 + 1 + 2 + m.batch.reduce((n, b) => n + 4 + b.length, 0) + 2 + m.auth.length;
    case 'prepare':
    case 'commit':
      return 4 + 8 + 1 + 32 + 2 + m.auth.length;
    case 'reply':
      return 4 + 1 + 2 + 4 + 2 + m.result.length + 32;
  }
}

export const pbftCodec: Codec<PbftMsg> = {
  encode(m) {
    const w = new Writer(2 + size(m)).u8(PBFT_MAGIC).u8(TYPE[m.type]);
    switch (m.type) {
      case 'request':
        w.u32(m.payload.length).raw(m.payload);
        break;
      case 'pre-prepare':
        w.u32(m.view).u64(m.seq).u8(m.replica).u16(m.batch.length);
        for (const b of m.batch) w.u32(b.length).raw(b);
        w.u16(m.auth.length).raw(m.auth);
        break;
      case 'prepare':
      case 'commit':
        w.u32(m.view).u64(m.seq).u8(m.replica).raw(m.digest).u16(m.auth.length).raw(m.auth);
        break;
      case 'reply':
        w.u32(m.view).u8(m.replica).u16(m.client).u32(m.requestId).u16(m.result.length).raw(m.result).raw(m.mac);
    }
    return w.done();
  },
  decode(bytes) {
    const r = new Reader(bytes);
    const magic = r.u8('magic');
    if (magic !== PBFT_MAGIC) throw new WireError('bad-magic', `not a PBFT packet (first byte 0x${magic.toString(16)})`);
    const type = r.u8('type');
    const copy = (n: number, what: string) => r.bytesOf(n, what).slice();
    let m: PbftMsg;
    switch (type) {
      case TYPE.request:
        m = { type: 'request', payload: copy(r.u32('payload length'), 'payload') };
        break;
      case TYPE['pre-prepare']: {
        const view = r.u32('view');
        const seq = r.u64('sequence number');
        const replica = r.u8('replica');
        const n = r.u16('batch size');
        if (n > MAX_BATCH) throw new WireError('bad-field', `batch of ${n}`);
        const batch = Array.from({ length: n }, () => copy(r.u32('request length'), 'request'));
        m = { type: 'pre-prepare', view, seq, replica, batch, auth: copy(r.u16('authenticator length'), 'authenticator') };
        break;
      }
      case TYPE.prepare:
      case TYPE.commit:
        m = {
          type: type === TYPE.prepare ? 'prepare' : 'commit', view: r.u32('view'), seq: r.u64('sequence number'), replica: r.u8('replica'),
          digest: copy(32, 'digest'), auth: copy(r.u16('authenticator length'), 'authenticator'),
        };
        break;
      case TYPE.reply:
        m = {
          type: 'reply', view: r.u32('view'), replica: r.u8('replica'), client: r.u16('client'), requestId: r.u32('request id'),
          result: copy(r.u16('result length'), 'result'), mac: copy(32, 'MAC'),
        };
        break;
      default:
        throw new WireError('unknown-type', `unknown PBFT message type ${type}`);
    }
    r.end(m.type);
    return m;
  },
};
