import type { Codec } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { Reader, Writer } from '../runtime/wire.js';
import { AOM_TYPE, aomSize, readAom, writeAom } from './aom-codec.js';
import type { NeoMsg } from './messages.js';

/** First byte of every BFTCluster datagram. */
export const NEO_MAGIC = 0x4e;

const typeOf = (m: NeoMsg) => (m.type === 'aom-request' ? AOM_TYPE.request : m.type === 'aom' ? AOM_TYPE.multicast : AOM_TYPE.sign);

export const neoCodec: Codec<NeoMsg> = {
  encode(m) {
    const w = new Writer(2 + aomSize(m));
    w.u8(NEO_MAGIC).u8(typeOf(m));
    writeAom(w, m);
    return w.done();
  },
  decode(bytes) {
    const r = new Reader(bytes);
    const magic = r.u8('magic');
    if (magic !== NEO_MAGIC) throw new WireError('bad-magic', `not a BFTCluster packet (first byte 0x${magic.toString(16)})`);
    const m = readAom(r, r.u8('type'));
    r.end(m.type);
    return m;
  },
};
