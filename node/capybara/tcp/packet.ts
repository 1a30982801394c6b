import { WireError } from '../../runtime/core.js';
import { Reader, Writer } from '../../runtime/wire.js';
import { checksum, fold } from './checksum.js';

/**
 * A TCP segment in an IPv4 packet, as the emulated hosts exchange them inside UDP datagrams:
 * a 20-byte IPv4 header (no options), the TCP header with its real fields and options (MSS and
 * window scale on SYNs), the payload. Both checksums are real (IPv4 header; TCP over the
 * pseudo-header), so a corrupted datagram is rejected with a reason like any malformed one.
 */

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export const IPV4_HEADER = 20;
export const TCP_HEADER = 20;
const PROTO_TCP = 6;
/** Window-scale shifts above 14 are treated as 14 (RFC 7323 §2.3). */
export const MAX_WINDOW_SHIFT = 14;

export interface TcpPacket {
  srcIp: number;
  dstIp: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** The 16-bit window field as sent (scaled by the sender's shift outside SYNs). */
  window: number;
  /** MSS option (SYN only). */
  mss?: number;
  /** Window-scale option (SYN only). */
  wscale?: number;
  payload: Uint8Array;
}

/** Sequence space a segment occupies: its payload plus one for SYN and one for FIN. */
export function segmentLength(p: TcpPacket): number {
  return p.payload.length + (p.flags & SYN ? 1 : 0) + (p.flags & FIN ? 1 : 0);
}

function optionsLength(p: TcpPacket): number {
  return (p.mss !== undefined ? 4 : 0) + (p.wscale !== undefined ? 4 : 0);
}

function pseudoHeaderSum(src: number, dst: number, tcpLength: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + PROTO_TCP + tcpLength;
}

export function encodeTcpPacket(p: TcpPacket): Uint8Array {
  const tcpLength = TCP_HEADER + optionsLength(p) + p.payload.length;
  const total = IPV4_HEADER + tcpLength;
  const w = new Writer(total);
  w.u8(0x45).u8(0).u16(total).u16(0).u16(0x4000).u8(64).u8(PROTO_TCP).u16(0).u32(p.srcIp).u32(p.dstIp);
  w.u16(p.srcPort).u16(p.dstPort).u32(p.seq).u32(p.ack);
  w.u8(((TCP_HEADER + optionsLength(p)) / 4) << 4).u8(p.flags).u16(p.window).u16(0).u16(0);
  if (p.mss !== undefined) w.u8(2).u8(4).u16(p.mss);
  if (p.wscale !== undefined) w.u8(1).u8(3).u8(3).u8(p.wscale);
  w.raw(p.payload);
  const bytes = w.done();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint16(10, checksum(bytes.subarray(0, IPV4_HEADER)));
  view.setUint16(IPV4_HEADER + 16, checksum(bytes.subarray(IPV4_HEADER), pseudoHeaderSum(p.srcIp, p.dstIp, tcpLength)));
  return bytes;
}

export function decodeTcpPacket(bytes: Uint8Array): TcpPacket {
  const r = new Reader(bytes);
  const versionIhl = r.u8('IPv4 version');
  if (versionIhl !== 0x45) throw new WireError('bad-ip-header', `expected IPv4 without options (0x45), got 0x${versionIhl.toString(16)}`);
  r.u8('IPv4 TOS');
  const total = r.u16('IPv4 total length');
  if (total !== bytes.length) throw new WireError('bad-ip-header', `IPv4 total length ${total} but the datagram holds ${bytes.length} bytes`);
  r.bytesOf(5, 'IPv4 id/flags/TTL');
  const proto = r.u8('IPv4 protocol');
  if (proto !== PROTO_TCP) throw new WireError('bad-ip-header', `IPv4 protocol ${proto} is not TCP (6)`);
  r.u16('IPv4 header checksum');
  if (checksum(bytes.subarray(0, IPV4_HEADER)) !== 0) throw new WireError('bad-ip-checksum', 'IPv4 header checksum does not match');
  const srcIp = r.u32('IPv4 source');
  const dstIp = r.u32('IPv4 destination');
  const tcp = bytes.subarray(IPV4_HEADER);
  if (tcp.length < TCP_HEADER) throw new WireError('truncated', `TCP segment of ${tcp.length} bytes is shorter than its header`);
  if (checksum(tcp, pseudoHeaderSum(srcIp, dstIp, tcp.length)) !== 0) throw new WireError('bad-tcp-checksum', 'TCP checksum does not match');
  const srcPort = r.u16();
  const dstPort = r.u16();
  const seq = r.u32();
  const ack = r.u32();
  const dataOffset = (r.u8() >> 4) * 4;
  if (dataOffset < TCP_HEADER || dataOffset > tcp.length) {
    throw new WireError('bad-tcp-header', `TCP data offset ${dataOffset} outside 20..${tcp.length}`);
  }
  const flags = r.u8() & 0x3f;
  const window = r.u16();
  r.u16();
  r.u16();
  const packet: TcpPacket = { srcIp, dstIp, srcPort, dstPort, seq, ack, flags, window, payload: tcp.subarray(dataOffset) };
  readOptions(new Reader(tcp.subarray(TCP_HEADER, dataOffset)), packet);
  return packet;
}

function readOptions(r: Reader, p: TcpPacket): void {
  while (r.remaining > 0) {
    const kind = r.u8('TCP option kind');
    if (kind === 0) return;
    if (kind === 1) continue;
    const len = r.u8('TCP option length');
    if (len < 2) throw new WireError('bad-tcp-option', `TCP option ${kind} has length ${len}`);
    const body = r.bytesOf(len - 2, `TCP option ${kind}`);
    if (kind === 2 && len === 4) p.mss = (body[0]! << 8) | body[1]!;
    else if (kind === 3 && len === 3) p.wscale = Math.min(body[0]!, MAX_WINDOW_SHIFT);
    else if (kind === 2 || kind === 3) throw new WireError('bad-tcp-option', `TCP option ${kind} has length ${len}`);
  }
}

/**
 * Rewrites one end's address in an encoded packet in place, as a NAT or L4 switch does, updating
 * both checksums incrementally (RFC 1624) instead of recomputing them over the payload.
 */
export function rewriteEndpoint(bytes: Uint8Array, end: 'src' | 'dst', ip: number, port: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ipAt = end === 'src' ? 12 : 16;
  const portAt = IPV4_HEADER + (end === 'src' ? 0 : 2);
  const oldIp = view.getUint32(ipAt);
  const oldPort = view.getUint16(portAt);
  view.setUint32(ipAt, ip);
  view.setUint16(portAt, port);
  const ipWords: [number, number][] = [[oldIp >>> 16, ip >>> 16], [oldIp & 0xffff, ip & 0xffff]];
  patch(view, 10, ipWords);
  patch(view, IPV4_HEADER + 16, [...ipWords, [oldPort, port]]);
}

/** HC' = ~(~HC + ~m + m') over (old m, new m') 16-bit words. */
function patch(view: DataView, at: number, changes: [number, number][]): void {
  let sum = ~view.getUint16(at) & 0xffff;
  for (const [old, now] of changes) sum += (~old & 0xffff) + now;
  view.setUint16(at, ~fold(sum) & 0xffff);
}
