import { WireError } from '../runtime/core.js';
import { Reader, Writer } from '../runtime/wire.js';
import type { AomMsg } from './aom-messages.js';

/** Type bytes of the AOM messages inside the NeoBFT protocol's datagrams. */
export const AOM_TYPE = { request: 1, multicast: 2, sign: 3 } as const;

const MAX_MACS = 255;

export function aomSize(m: AomMsg): number {
  switch (m.type) {
    case 'aom-request':
      return 2 + 4 + m.payload.length;
    case 'aom':
      return 2 + 4 + 8 + 32 + 1 + (m.auth.scheme === 'hm' ? 1 + 4 * m.auth.macs.length : 32 + 1 + (m.auth.signature ? 64 : 0)) + 4 + m.payload.length;
    case 'aom-sign':
      return 2 + 4 + 8 + 32 + 64;
  }
}

export function writeAom(w: Writer, m: AomMsg): void {
  switch (m.type) {
    case 'aom-request':
      w.u16(m.group).u32(m.payload.length).raw(m.payload);
      return;
    case 'aom': {
      const h = m.header;
      w.u16(h.group).u32(h.epoch).u64(h.seq).raw(h.digest);
      if (m.auth.scheme === 'hm') {
        w.u8(0).u8(m.auth.macs.length);
        for (const mac of m.auth.macs) w.u32(mac);
      } else {
        w.u8(1).raw(m.auth.linked).u8(m.auth.signature ? 1 : 0);
        if (m.auth.signature) w.raw(m.auth.signature);
      }
      w.u32(m.payload.length).raw(m.payload);
      return;
    }
    case 'aom-sign':
      w.u16(m.group).u32(m.epoch).u64(m.seq).raw(m.chain).raw(m.signature);
  }
}

/** Copies a field out of the datagram so the message does not pin the receive buffer. */
const copy = (r: Reader, n: number, what: string) => r.bytesOf(n, what).slice();

export function readAom(r: Reader, type: number): AomMsg {
  switch (type) {
    case AOM_TYPE.request: {
      const group = r.u16('group');
      const len = r.u32('payload length');
      return { type: 'aom-request', group, payload: copy(r, len, 'payload') };
    }
    case AOM_TYPE.multicast: {
      const header = { group: r.u16('group'), epoch: r.u32('epoch'), seq: r.u64('sequence number'), digest: copy(r, 32, 'digest') };
      const scheme = r.u8('authenticator scheme');
      let auth;
      if (scheme === 0) {
        const n = r.u8('MAC count');
        if (n > MAX_MACS) throw new WireError('bad-field', `MAC vector of ${n}`);
        const macs = new Uint32Array(n);
        for (let i = 0; i < n; i++) macs[i] = r.u32('MAC');
        auth = { scheme: 'hm' as const, macs };
      } else if (scheme === 1) {
        const linked = copy(r, 32, 'chain link');
        const signed = r.u8('signed flag');
        if (signed > 1) throw new WireError('bad-field', `signed flag ${signed}`);
        auth = { scheme: 'pk' as const, linked, signature: signed ? copy(r, 64, 'signature') : null };
      } else {
        throw new WireError('bad-field', `unknown authenticator scheme ${scheme}`);
      }
      const len = r.u32('payload length');
      return { type: 'aom', header, auth, payload: copy(r, len, 'payload') };
    }
    case AOM_TYPE.sign:
      return {
        type: 'aom-sign', group: r.u16('group'), epoch: r.u32('epoch'), seq: r.u64('sequence number'),
        chain: copy(r, 32, 'chain link'), signature: copy(r, 64, 'signature'),
      };
    default:
      throw new WireError('unknown-type', `unknown AOM message type ${type}`);
  }
}
