import { WireError } from '../../runtime/core.js';
import { Reader, Writer } from '../../runtime/wire.js';
import { TCP_STATES, type TcpControlBlockState } from './connection.js';
import { MAX_WINDOW_SHIFT } from './packet.js';

/**
 * The bytes of a migrating connection: Capybara's ControlBlockState layout (docs/capybara.md#state-migrated,
 * big-endian; deques as a u32 count then items, buffers as a u32 length then bytes), followed
 * by Switchyard's additions (TCP state, ISS, whether the application closed, SND.MAX, the
 * RTT estimate, the time left on the timer, the retry count and an owed ACK) so that a connection in any state, not only ESTABLISHED, survives the trip.
 */

/** timer remaining = 2^32 − 1: no timer armed. */
const NO_TIMER = 0xffff_ffff;

type Segments = { seq: number; data: Uint8Array }[];

function buffersSize(list: Uint8Array[]): number {
  return 4 + list.reduce((n, b) => n + 4 + b.length, 0);
}

function segmentsSize(list: Segments): number {
  return 4 + list.reduce((n, s) => n + 8 + s.data.length, 0);
}

export function encodeTcpState(s: TcpControlBlockState): Uint8Array {
  const size = 6 + 6 + 4 + 4 + (s.outOfOrderFin === null ? 1 : 5) + segmentsSize(s.outOfOrderQueue)
    + 8 + buffersSize(s.recvQueue) + 7 * 4 + 1 + segmentsSize(s.unackedQueue) + buffersSize(s.unsentQueue)
    + 1 + 4 + 1 + 4 + 12 + 8 + 1;
  const w = new Writer(size);
  w.u32(s.local.ip).u16(s.local.port).u32(s.remote.ip).u16(s.remote.port);
  w.u32(s.receiveBufferSize).u32(s.windowScale);
  if (s.outOfOrderFin === null) w.u8(0);
  else w.u8(1).u32(s.outOfOrderFin);
  writeSegments(w, s.outOfOrderQueue);
  w.u32(s.readerNext).u32(s.receiveNext);
  writeBuffers(w, s.recvQueue);
  w.u32(s.unsentSeqNo).u32(s.sendUnacked).u32(s.sendNext).u32(s.sendWindow);
  w.u32(s.sendWindowLastUpdateSeq).u32(s.sendWindowLastUpdateAck).u32(s.mss).u8(s.sendWindowScale);
  writeSegments(w, s.unackedQueue);
  writeBuffers(w, s.unsentQueue);
  w.u8(TCP_STATES.indexOf(s.state)).u32(s.iss).u8(s.finQueued ? 1 : 0).u32(s.sendMax);
  w.u32(s.srttUs).u32(s.rttvarUs).u32(s.rtoUs).u32(s.timerRemainingUs ?? NO_TIMER).u32(s.retries).u8(s.ackPending ? 1 : 0);
  return w.done();
}

function writeSegments(w: Writer, list: Segments): void {
  w.u32(list.length);
  for (const s of list) w.u32(s.seq).u32(s.data.length).raw(s.data);
}

function writeBuffers(w: Writer, list: Uint8Array[]): void {
  w.u32(list.length);
  for (const b of list) w.u32(b.length).raw(b);
}

export function decodeTcpState(bytes: Uint8Array): TcpControlBlockState {
  const r = new Reader(bytes);
  const local = { ip: r.u32('local ip'), port: r.u16('local port') };
  const remote = { ip: r.u32('remote ip'), port: r.u16('remote port') };
  const receiveBufferSize = r.u32('receive_buffer_size');
  const windowScale = shift(r.u32('window_scale'), 'window_scale');
  const outOfOrderFin = flag(r.u8('out_of_order_fin tag'), 'out_of_order_fin tag') ? r.u32('out_of_order_fin') : null;
  const outOfOrderQueue = readSegments(r, 'out_of_order_queue');
  const readerNext = r.u32('reader_next');
  const receiveNext = r.u32('receive_next');
  const recvQueue = readBuffers(r, 'recv_queue');
  const unsentSeqNo = r.u32('unsent_seq_no');
  const sendUnacked = r.u32('send_unacked');
  const sendNext = r.u32('send_next');
  const sendWindow = r.u32('send_window');
  const sendWindowLastUpdateSeq = r.u32('send_window_last_update_seq');
  const sendWindowLastUpdateAck = r.u32('send_window_last_update_ack');
  const mss = r.u32('mss');
  if (mss === 0 || mss > 0xffff) throw new WireError('bad-tcp-state', `mss ${mss} outside 1..65535`);
  const sendWindowScale = shift(r.u8('send window_scale'), 'send window_scale');
  const unackedQueue = readSegments(r, 'unacked_queue');
  const unsentQueue = readBuffers(r, 'unsent_queue');
  const stateIndex = r.u8('state');
  const state = TCP_STATES[stateIndex];
  if (state === undefined || state === 'CLOSED') throw new WireError('bad-tcp-state', `state ${stateIndex} is not a live TCP state`);
  const iss = r.u32('iss');
  const finQueued = flag(r.u8('fin_queued'), 'fin_queued');
  const sendMax = r.u32('send_max');
  const srttUs = r.u32('srtt');
  const rttvarUs = r.u32('rttvar');
  const rtoUs = r.u32('rto');
  const timer = r.u32('timer remaining');
  const retries = r.u32('retries');
  const ackPending = flag(r.u8('ack pending'), 'ack pending');
  r.end('the TCP state');
  const queued = recvQueue.reduce((n, b) => n + b.length, 0);
  if (queued > receiveBufferSize) throw new WireError('bad-tcp-state', `recv_queue holds ${queued} bytes, more than receive_buffer_size ${receiveBufferSize}`);
  return {
    local, remote, receiveBufferSize, windowScale, outOfOrderFin, outOfOrderQueue, readerNext, receiveNext, recvQueue,
    unsentSeqNo, sendUnacked, sendNext, sendWindow, sendWindowLastUpdateSeq, sendWindowLastUpdateAck, mss, sendWindowScale,
    unackedQueue, unsentQueue, state, iss, finQueued, sendMax, srttUs, rttvarUs, rtoUs,
    timerRemainingUs: timer === NO_TIMER ? null : timer, retries, ackPending,
  };
}

function flag(v: number, what: string): boolean {
  if (v > 1) throw new WireError('bad-tcp-state', `${what} ${v} is neither 0 nor 1`);
  return v === 1;
}

function shift(v: number, what: string): number {
  if (v > MAX_WINDOW_SHIFT) throw new WireError('bad-tcp-state', `${what} ${v} exceeds ${MAX_WINDOW_SHIFT}`);
  return v;
}

/** A u32 count, then that many items of at least `minItemBytes` each (a count the bytes can't hold is refused up front). */
function readList<T>(r: Reader, what: string, minItemBytes: number, item: () => T): T[] {
  const count = r.u32(`${what} count`);
  if (count * minItemBytes > r.remaining) throw new WireError('truncated', `${what} claims ${count} items in ${r.remaining} bytes`);
  return Array.from({ length: count }, item);
}

const readBytes = (r: Reader, what: string) => r.bytesOf(r.u32(`${what} length`), `${what} bytes`).slice();

function readSegments(r: Reader, what: string): Segments {
  return readList(r, what, 8, () => ({ seq: r.u32(`${what} seq`), data: readBytes(r, what) }));
}

function readBuffers(r: Reader, what: string): Uint8Array[] {
  return readList(r, what, 4, () => readBytes(r, what));
}
