import { type Codec, WireError } from '../runtime/core.js';
import { Reader, Writer } from '../runtime/wire.js';
import { type CapybaraMsg, MAX_OWNED_PER_MESSAGE, MIG_MAGIC, type MigHeader, OWN_MAGIC, RPS_MAGIC, STAGE, type Stage, WHO_HAS_MAGIC } from './messages.js';
import { endpointKey } from './topology.js';
import { decodeTcpPacket, encodeTcpPacket } from './tcp/packet.js';

/** TCPMig's 20 bytes after the UDP header, plus Switchyard's target and migration number. */
export const MIG_HEADER_BYTES = 28;
/** A CONN_STATE fragment fills a 1500-byte IP packet: 1500 − 20 (IPv4) − 8 (UDP) − the TCPMig header. */
export const MAX_FRAGMENT = 1500 - 20 - 8 - MIG_HEADER_BYTES;

const STAGES = new Set<number>(Object.values(STAGE));

function encode(msg: CapybaraMsg): Uint8Array {
  switch (msg.kind) {
    case 'tcp':
      return msg.raw ?? encodeTcpPacket(msg.packet);
    case 'mig': {
      const h = msg.header;
      const w = new Writer(MIG_HEADER_BYTES + msg.payload.length);
      w.u32(MIG_MAGIC).u32(h.originIp).u16(h.originPort).u32(h.clientIp).u16(h.clientPort).u16(h.fragment);
      w.u8((h.stage << 4) | (h.flags & 0x0f)).u8(0).u32(h.targetIp).u32(h.migration).raw(msg.payload);
      return w.done();
    }
    case 'rps':
      return new Writer(16).u32(RPS_MAGIC).u32(msg.sum).u32(msg.individual).u32(msg.incarnation).done();
    case 'whoHas':
      return new Writer(10).u32(WHO_HAS_MAGIC).u32(msg.clientIp).u16(msg.clientPort).done();
    case 'own': {
      const w = new Writer(10 + 6 * msg.clients.length).u32(OWN_MAGIC).u32(msg.serverIp).u16(msg.clients.length);
      for (const key of msg.clients) w.u32(Math.floor(key / 0x1_0000)).u16(key % 0x1_0000);
      return w.done();
    }
  }
}

function decode(bytes: Uint8Array): CapybaraMsg {
  if (bytes.length > 0 && bytes[0] === 0x45) return { kind: 'tcp', packet: decodeTcpPacket(bytes), raw: bytes };
  const r = new Reader(bytes);
  const magic = r.u32('magic');
  if (magic === RPS_MAGIC) {
    const msg: CapybaraMsg = { kind: 'rps', sum: r.u32('rps sum'), individual: r.u32('rps individual'), incarnation: r.u32('switch incarnation') };
    r.end('the RPS signal');
    if (msg.individual > msg.sum) throw new WireError('bad-rps', `one server's count ${msg.individual} exceeds the sum ${msg.sum}`);
    return msg;
  }
  if (magic === WHO_HAS_MAGIC) {
    const msg: CapybaraMsg = { kind: 'whoHas', clientIp: r.u32('client ip'), clientPort: r.u16('client port') };
    r.end('WHO_HAS');
    return msg;
  }
  if (magic === OWN_MAGIC) {
    const serverIp = r.u32('server ip');
    const n = r.u16('client count');
    if (n > MAX_OWNED_PER_MESSAGE) throw new WireError('out-of-range', `OWN lists ${n} clients, more than ${MAX_OWNED_PER_MESSAGE}`);
    const clients: number[] = [];
    for (let i = 0; i < n; i++) clients.push(endpointKey(r.u32('client ip'), r.u16('client port')));
    r.end('OWN');
    return { kind: 'own', serverIp, clients };
  }
  if (magic !== MIG_MAGIC) throw new WireError('bad-magic', `datagram is neither IPv4 nor TCPMig/RPS/WHO_HAS/OWN (magic 0x${magic.toString(16)})`);
  const header: Partial<MigHeader> = {
    originIp: r.u32('origin ip'), originPort: r.u16('origin port'), clientIp: r.u32('client ip'), clientPort: r.u16('client port'),
    fragment: r.u16('fragment offset'),
  };
  const flags = r.u8('flags');
  r.u8('reserved');
  const stage = flags >> 4;
  if (!STAGES.has(stage)) throw new WireError('bad-stage', `TCPMig stage ${stage} is not one Switchyard speaks`);
  header.stage = stage as Stage;
  header.flags = flags & 0x0f;
  header.targetIp = r.u32('target ip');
  header.migration = r.u32('migration');
  return { kind: 'mig', header: header as MigHeader, payload: bytes.subarray(MIG_HEADER_BYTES) };
}

export const capybaraCodec: Codec<CapybaraMsg> = { encode, decode };
