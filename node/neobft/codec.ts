import type { Codec } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { Reader, Writer } from '../runtime/wire.js';
import { AOM_TYPE, aomSize, readAom, writeAom } from './aom-codec.js';
import type { AomMsg } from './aom-messages.js';
import type { NeoMsg } from './messages.js';
import { PROTOCOL_TYPE, protocolSize, readProtocol, writeProtocol } from './protocol-codec.js';
import type { ProtocolMsg, SignedMsg } from './protocol-messages.js';

/** First byte of every BFTCluster datagram. */
export const NEO_MAGIC = 0x4e;

const isAom = (m: NeoMsg): m is AomMsg => m.type === 'aom-request' || m.type === 'aom' || m.type === 'aom-sign';
const aomType = (m: AomMsg) => (m.type === 'aom-request' ? AOM_TYPE.request : m.type === 'aom' ? AOM_TYPE.multicast : AOM_TYPE.sign);

export const neoCodec: Codec<NeoMsg> = {
  encode(m) {
    if (isAom(m)) {
      const w = new Writer(2 + aomSize(m));
      w.u8(NEO_MAGIC).u8(aomType(m));
      writeAom(w, m);
      return w.done();
    }
    const w = new Writer(2 + protocolSize(m));
    w.u8(NEO_MAGIC).u8(PROTOCOL_TYPE[m.type]);
    writeProtocol(w, m);
    return w.done();
  },
  decode(bytes) {
    const r = new Reader(bytes);
    const magic = r.u8('magic');
    if (magic !== NEO_MAGIC) throw new WireError('bad-magic', `not a BFTCluster packet (first byte 0x${magic.toString(16)})`);
    const type = r.u8('type');
    const m: NeoMsg = type < PROTOCOL_TYPE.reply ? readAom(r, type) : readProtocol(r, type);
    r.end(m.type);
    return m;
  },
};

/**
 * The bytes a replica signs: the message's encoding up to its signature (always the last 64
 * bytes), with a SYNC's `resent` flag cleared (a resent SYNC keeps its signature).
 */
export function signedBody(m: SignedMsg): Uint8Array {
  const unsigned = m.type === 'sync' ? { ...m, resent: false } : m;
  const bytes = neoCodec.encode({ ...unsigned, sig: new Uint8Array(64) } as ProtocolMsg);
  return bytes.subarray(0, bytes.length - 64);
}
