import { ByteQueue } from './byte-queue.js';
import { ACK, FIN, PSH, RST, SYN, type TcpPacket } from './packet.js';
import { DEFAULT_PEER_MSS, type TcpParams, initialWindow } from './params.js';
import { RtoEstimator } from './rto.js';
import { seqAdd, seqDiff, seqLe, seqLt } from './seq.js';

/**
 * One TCP connection's control block, as a pure state machine (RFC 9293 with RFC 6298's
 * retransmission timer, RFC 5681/6582 congestion control with fast retransmit and NewReno
 * recovery, RFC 7323 window scaling, RFC 5961 challenge ACKs). It never reads a clock: every
 * input carries `now` (µs), and its one timer is a deadline the stack asks for.
 *
 * Choices: ACKs are sent at once after every input that needs one (no delayed ACKs: the
 * workloads are request/response and the hosts batch an input's ACK with its reply); no Nagle
 * (Demikernel's TCP_NODELAY); sender-side silly-window avoidance; after a retransmission timeout
 * the sender goes back to SND.UNA (BSD's snd_nxt/snd_max); no simultaneous open, no SACK, no
 * timestamps. The state Capybara migrates is exactly what `exportState` returns.
 */

export type TcpState =
  | 'SYN_SENT' | 'SYN_RECEIVED' | 'ESTABLISHED' | 'FIN_WAIT_1' | 'FIN_WAIT_2'
  | 'CLOSE_WAIT' | 'CLOSING' | 'LAST_ACK' | 'TIME_WAIT' | 'CLOSED';

export const TCP_STATES: readonly TcpState[] = [
  'SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2',
  'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT', 'CLOSED',
];

export interface Endpoint {
  ip: number;
  port: number;
}

export type CloseReason = 'normal' | 'reset' | 'timeout' | 'refused' | 'aborted';

export type TcpEvent =
  | { kind: 'connected'; conn: TcpConnection }
  | { kind: 'accepted'; conn: TcpConnection }
  | { kind: 'data'; conn: TcpConnection }
  | { kind: 'end'; conn: TcpConnection }
  | { kind: 'closed'; conn: TcpConnection; reason: CloseReason };

/** What a connection needs from its stack. */
export interface ConnectionSink {
  output(packet: TcpPacket): void;
  event(event: TcpEvent): void;
  /** The connection has something to send or a new deadline: transmit it at the next flush. */
  dirty(conn: TcpConnection): void;
}

/** Everything a connection is, as Capybara's ControlBlockState plus what this stack adds. */
export interface TcpControlBlockState {
  local: Endpoint;
  remote: Endpoint;
  receiveBufferSize: number;
  /** Our announced shift (0 when the peer did not negotiate scaling). */
  windowScale: number;
  outOfOrderFin: number | null;
  outOfOrderQueue: { seq: number; data: Uint8Array }[];
  readerNext: number;
  receiveNext: number;
  recvQueue: Uint8Array[];
  unsentSeqNo: number;
  sendUnacked: number;
  sendNext: number;
  sendWindow: number;
  sendWindowLastUpdateSeq: number;
  sendWindowLastUpdateAck: number;
  mss: number;
  /** The peer's shift. */
  sendWindowScale: number;
  unackedQueue: { seq: number; data: Uint8Array }[];
  unsentQueue: Uint8Array[];
  // Switchyard's additions: what the RFC state machine needs beyond Capybara's established-only state.
  state: TcpState;
  iss: number;
  finQueued: boolean;
  sendMax: number;
  srttUs: number;
  rttvarUs: number;
  rtoUs: number;
  /** Time left on the connection's one timer (retransmission, persist or TIME-WAIT); null when idle. */
  timerRemainingUs: number | null;
  /** Consecutive retransmission timeouts so far. */
  retries: number;
  /** An acknowledgement is owed to the peer. */
  ackPending: boolean;
}

const WINDOW_FIELD_MAX = 0xffff;

export class TcpConnection {
  state: TcpState;
  local: Endpoint;
  readonly remote: Endpoint;

  // Receive side: bytes [readerNext, rcvNxt) wait in recvQueue (rcvNxt also counts a received FIN).
  private rcvNxt = 0;
  private readonly recvQueue = new ByteQueue();
  private ooo: { seq: number; data: Uint8Array }[] = [];
  private oooFin: number | null = null;
  private rcvShift = 0;
  /** The peer's SYN offered window scaling. */
  private scaling = false;
  private lastWindowSent = 0;

  // Send side: the send buffer holds bytes [bufSeq, sndEnd): unacknowledged, then unsent.
  private readonly iss: number;
  private sndUna: number;
  private sndNxt: number;
  private sndMax: number;
  private sndEnd: number;
  private bufSeq: number;
  private readonly sendBuffer = new ByteQueue();
  private sndWnd = 0;
  private wl1 = 0;
  private wl2 = 0;
  private sndMss: number;
  private sndShift = 0;
  private finQueued = false;

  // Timers and congestion control (not migrated except the RTT estimate).
  private readonly rto: RtoEstimator;
  private rtoDeadline: number | null = null;
  private timeWaitDeadline: number | null = null;
  private retries = 0;
  private timed: { end: number; at: number } | null = null;
  private cwnd: number;
  private ssthresh = Number.MAX_SAFE_INTEGER;
  private dupAcks = 0;
  private recover: number | null = null;
  private probe = false;
  private ackNeeded = false;
  private synNeeded = false;
  /** When the peer was last heard from (null: not since this host took the connection). */
  lastHeardAt: number | null = null;

  private constructor(
    private readonly params: TcpParams,
    private readonly sink: ConnectionSink,
    local: Endpoint,
    remote: Endpoint,
    iss: number,
    state: TcpState,
  ) {
    this.local = local;
    this.remote = remote;
    this.iss = iss;
    this.state = state;
    this.sndUna = this.sndNxt = this.sndMax = iss;
    this.sndEnd = this.bufSeq = seqAdd(iss, 1);
    this.sndMss = Math.min(params.mss, DEFAULT_PEER_MSS);
    this.rto = new RtoEstimator(params.rto);
    this.cwnd = initialWindow(params.mss);
  }

  /** Active open: the SYN goes out at the next flush. */
  static connect(params: TcpParams, sink: ConnectionSink, local: Endpoint, remote: Endpoint, iss: number): TcpConnection {
    const c = new TcpConnection(params, sink, local, remote, iss, 'SYN_SENT');
    c.synNeeded = true;
    sink.dirty(c);
    return c;
  }

  /** Passive open from a SYN that reached a listening port: the SYN-ACK goes out at the next flush. */
  static accept(params: TcpParams, sink: ConnectionSink, local: Endpoint, syn: TcpPacket, iss: number): TcpConnection {
    const c = new TcpConnection(params, sink, local, { ip: syn.srcIp, port: syn.srcPort }, iss, 'SYN_RECEIVED');
    c.synchronize(syn);
    c.synNeeded = true;
    sink.dirty(c);
    return c;
  }

  // ---- the application's side -------------------------------------------------------------

  /** Queues bytes for sending. Throws once the application has closed its side. */
  write(bytes: Uint8Array): void {
    if (this.finQueued || this.state === 'CLOSED') throw new Error(`write on a connection in ${this.state}${this.finQueued ? ' after close()' : ''}`);
    if (bytes.length === 0) return;
    this.sendBuffer.push(bytes);
    this.sndEnd = seqAdd(this.sndEnd, bytes.length);
    this.sink.dirty(this);
  }

  /** Bytes written and not yet acknowledged by the peer. */
  get bufferedAmount(): number {
    return this.sendBuffer.length;
  }

  /** Bytes received in order and not yet read. */
  get readable(): number {
    return this.recvQueue.length;
  }

  /** Takes every byte received in order so far; opening the window may announce an update. */
  read(): Uint8Array {
    const data = this.recvQueue.take();
    if (data.length > 0 && this.windowUpdateWorthSending()) {
      this.ackNeeded = true;
      this.sink.dirty(this);
    }
    return data;
  }

  /** Closes our sending side: a FIN follows the queued bytes. */
  close(): void {
    if (this.finQueued || this.state === 'CLOSED') return;
    if (this.state === 'SYN_SENT') {
      this.finish('aborted');
      return;
    }
    this.finQueued = true;
    this.sink.dirty(this);
  }

  /** Resets the connection (RST to the peer). */
  abort(): void {
    if (this.state === 'CLOSED') return;
    if (this.state !== 'SYN_SENT') this.sendControl(RST | ACK);
    this.finish('aborted');
  }

  /**
   * A keep-alive probe (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): an ACK carrying SND.NXT − 1, outside
   * the peer's window, which a live peer answers with an ACK and a host that lost the connection
   * (it restarted) with a reset.
   */
  keepalive(): void {
    this.sink.output(this.packet(ACK, seqAdd(this.sndMax, -1), this.windowField(), new Uint8Array(0)));
  }

  // ---- inputs from the stack ------------------------------------------------------------

  /** The earliest time this connection's timer must run, or null. */
  deadline(): number | null {
    if (this.timeWaitDeadline !== null) return this.timeWaitDeadline;
    return this.rtoDeadline;
  }

  receive(now: number, p: TcpPacket): void {
    if (this.state === 'CLOSED') return;
    this.lastHeardAt = now;
    if (this.state === 'SYN_SENT') this.receiveInSynSent(now, p);
    else this.receiveSynchronized(now, p);
    this.sink.dirty(this);
  }

  timer(now: number): void {
    if (this.timeWaitDeadline !== null && now >= this.timeWaitDeadline) {
      this.finish('normal');
      return;
    }
    if (this.rtoDeadline === null || now < this.rtoDeadline) return;
    this.rtoDeadline = null;
    const synState = this.state === 'SYN_SENT' || this.state === 'SYN_RECEIVED';
    const inFlight = this.flight();
    if (!synState && inFlight === 0) {
      // The persist timer: the peer's window is closed, probe it with one byte.
      if (this.unsentData() > 0 && this.sndWnd === 0) {
        this.probe = true;
        this.rto.backOff();
        this.sink.dirty(this);
      }
      return;
    }
    if (!synState && this.sndWnd === 0) {
      // A probe into a closed window went unanswered: probe again, for as long as the peer stays closed.
      this.rto.backOff();
      this.sndNxt = this.sndUna;
      this.probe = true;
      this.sink.dirty(this);
      return;
    }
    if (++this.retries > this.params.maxRetransmits) {
      if (!synState) this.sendControl(RST | ACK);
      this.finish('timeout');
      return;
    }
    this.rto.backOff();
    this.timed = null;
    if (synState) {
      this.synNeeded = true;
    } else {
      // RFC 5681 §3.1 on a timeout: a one-segment window, then go back to the first unacknowledged byte.
      this.ssthresh = Math.max(Math.floor(inFlight / 2), 2 * this.sndMss);
      this.cwnd = this.sndMss;
      this.recover = null;
      this.dupAcks = 0;
      this.sndNxt = this.sndUna;
    }
    this.sink.dirty(this);
  }

  /** Sends what is due: a SYN, data within the windows, a FIN, an ACK. */
  transmit(now: number): void {
    if (this.state === 'CLOSED') return;
    if (this.synNeeded) {
      this.synNeeded = false;
      this.sendSyn(now);
      return;
    }
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RECEIVED') return;
    while (this.sendNextSegment(now)) this.ackNeeded = false;
    if (this.ackNeeded) this.sendControl(ACK);
    if (this.rtoDeadline === null && this.unsentData() > 0 && this.flight() === 0 && this.sndWnd === 0) {
      this.rtoDeadline = now + this.rto.rtoUs;
    }
  }

  // ---- receiving ------------------------------------------------------------------------

  private receiveInSynSent(now: number, p: TcpPacket): void {
    const ackOk = (p.flags & ACK) !== 0 && p.ack === seqAdd(this.iss, 1);
    if (p.flags & ACK && !ackOk) {
      if (!(p.flags & RST)) this.sendRaw(RST, p.ack, 0);
      return;
    }
    if (p.flags & RST) {
      if (ackOk) this.finish('refused');
      return;
    }
    if (!(p.flags & SYN) || !ackOk) return; // simultaneous open is not supported
    this.synchronize(p);
    this.sndUna = p.ack;
    this.sndWnd = p.window;
    this.wl1 = p.seq;
    this.wl2 = p.ack;
    this.sample(now, p.ack);
    this.established();
    this.ackNeeded = true;
    this.sink.event({ kind: 'connected', conn: this });
  }

  /** Takes the peer's initial sequence number and options from its SYN. */
  private synchronize(syn: TcpPacket): void {
    this.rcvNxt = seqAdd(syn.seq, 1);
    this.sndMss = Math.min(this.params.mss, syn.mss ?? DEFAULT_PEER_MSS);
    if (syn.wscale !== undefined) {
      this.scaling = true;
      this.sndShift = syn.wscale;
      this.rcvShift = this.params.windowShift;
    }
  }

  private established(): void {
    this.state = 'ESTABLISHED';
    this.retries = 0;
    this.rtoDeadline = null;
  }

  private receiveSynchronized(now: number, p: TcpPacket): void {
    const length = p.payload.length + (p.flags & FIN ? 1 : 0);
    if (p.flags & SYN) {
      if (this.state === 'SYN_RECEIVED' && p.seq === seqAdd(this.rcvNxt, -1)) this.synNeeded = true; // our SYN-ACK was lost
      else this.ackNeeded = true; // RFC 5961 §4: a challenge ACK, never a reset
      return;
    }
    if (!this.acceptable(p.seq, length)) {
      if (!(p.flags & RST)) this.ackNeeded = true;
      // A zero-window probe still carries a valid acknowledgement.
      if (!(p.flags & RST) && p.seq === this.rcvNxt && p.flags & ACK && this.state !== 'SYN_RECEIVED') this.processAck(now, p);
      return;
    }
    if (p.flags & RST) {
      if (this.state === 'TIME_WAIT') return; // RFC 1337: a reset must not cut TIME-WAIT short
      if (p.seq === this.rcvNxt) this.finish('reset');
      else this.ackNeeded = true; // RFC 5961 §3: challenge an in-window reset that is not exact
      return;
    }
    if (!(p.flags & ACK)) return;
    if (this.state === 'SYN_RECEIVED') {
      if (p.ack !== seqAdd(this.iss, 1)) {
        this.sendRaw(RST, p.ack, 0);
        return;
      }
      this.sndUna = p.ack;
      this.sndWnd = p.window << this.sndShift;
      this.wl1 = p.seq;
      this.wl2 = p.ack;
      this.sample(now, p.ack);
      this.established();
      this.sink.event({ kind: 'accepted', conn: this });
    } else if (!this.processAck(now, p)) {
      return;
    }
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT') {
      if (this.state === 'TIME_WAIT' && length > 0) this.ackNeeded = true;
      return;
    }
    if (length > 0) this.receiveData(now, p);
  }

  /** RFC 9293 §3.10.7.4's acceptability test against the receive window. */
  private acceptable(seq: number, length: number): boolean {
    const wnd = this.receiveSpace();
    const start = seqDiff(seq, this.rcvNxt);
    if (length === 0) return wnd === 0 ? start === 0 : start >= 0 && start < wnd;
    if (wnd === 0) return false;
    const end = start + length - 1;
    return (start >= 0 && start < wnd) || (end >= 0 && end < wnd);
  }

  /** Handles the acknowledgement and window fields; false when the segment must be dropped. */
  private processAck(now: number, p: TcpPacket): boolean {
    const ack = p.ack;
    if (seqLt(this.sndMax, ack)) {
      this.ackNeeded = true; // acknowledges something never sent
      return false;
    }
    const previousWindow = this.sndWnd;
    if (seqLt(this.wl1, p.seq) || (this.wl1 === p.seq && seqLe(this.wl2, ack))) {
      this.sndWnd = p.window << this.sndShift;
      this.wl1 = p.seq;
      this.wl2 = ack;
    }
    const newlyAcked = seqDiff(ack, this.sndUna);
    if (newlyAcked > 0) {
      this.acknowledge(now, ack, newlyAcked);
    } else if (newlyAcked === 0 && p.payload.length === 0 && !(p.flags & (SYN | FIN)) && this.flight() > 0 && this.sndWnd === previousWindow) {
      this.duplicateAck();
    }
    return true;
  }

  private acknowledge(now: number, ack: number, newlyAcked: number): void {
    const flightBefore = this.flight();
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    const dataAcked = Math.min(Math.max(0, seqDiff(ack, this.bufSeq)), this.sendBuffer.length);
    if (dataAcked > 0) {
      this.sendBuffer.discard(dataAcked);
      this.bufSeq = seqAdd(this.bufSeq, dataAcked);
    }
    this.retries = 0;
    this.probe = false;
    this.sample(now, ack);
    if (this.recover !== null) {
      if (seqLe(this.recover, ack)) {
        this.cwnd = Math.min(this.ssthresh, Math.max(flightBefore - newlyAcked, 0) + this.sndMss);
        this.recover = null;
      } else {
        // RFC 6582: a partial acknowledgement retransmits the next hole and deflates the window.
        this.retransmitFirst();
        this.cwnd = Math.max(this.cwnd - newlyAcked + this.sndMss, this.sndMss);
      }
    } else if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(newlyAcked, this.sndMss);
    } else {
      this.cwnd += Math.max(1, Math.floor((this.sndMss * this.sndMss) / this.cwnd));
    }
    this.dupAcks = 0;
    this.rtoDeadline = this.flight() > 0 ? now + this.rto.rtoUs : null;
    if (this.finQueued && ack === seqAdd(this.sndEnd, 1)) this.ourFinAcked(now);
  }

  private duplicateAck(): void {
    this.dupAcks++;
    if (this.recover !== null) {
      this.cwnd += this.sndMss;
    } else if (this.dupAcks === 3) {
      this.ssthresh = Math.max(Math.floor(this.flight() / 2), 2 * this.sndMss);
      this.recover = this.sndMax;
      this.retransmitFirst();
      this.cwnd = this.ssthresh + 3 * this.sndMss;
    }
  }

  private ourFinAcked(now: number): void {
    if (this.state === 'FIN_WAIT_1') this.state = 'FIN_WAIT_2';
    else if (this.state === 'CLOSING') this.enterTimeWait(now);
    else if (this.state === 'LAST_ACK') this.finish('normal');
  }

  private receiveData(now: number, p: TcpPacket): void {
    let seq = p.seq;
    let data = p.payload;
    let fin = (p.flags & FIN) !== 0;
    this.ackNeeded = true;
    if (this.state !== 'ESTABLISHED' && this.state !== 'FIN_WAIT_1' && this.state !== 'FIN_WAIT_2') return; // the peer already closed
    const old = seqDiff(this.rcvNxt, seq);
    if (old > 0) {
      if (old >= data.length + (fin ? 1 : 0)) return; // a duplicate
      data = data.subarray(Math.min(old, data.length));
      seq = this.rcvNxt;
    }
    const room = this.receiveSpace() - seqDiff(seq, this.rcvNxt);
    if (data.length > room) {
      data = data.subarray(0, Math.max(0, room));
      fin = false;
    }
    if (seq !== this.rcvNxt) {
      if (data.length > 0) this.insertOutOfOrder(seq, data);
      if (fin) this.oooFin = seqAdd(seq, data.length);
      return;
    }
    this.deliver(data);
    this.drainOutOfOrder();
    if (fin || (this.oooFin !== null && this.oooFin === this.rcvNxt)) this.peerFin(now);
  }

  private deliver(data: Uint8Array): void {
    if (data.length === 0) return;
    this.recvQueue.push(data.slice());
    this.rcvNxt = seqAdd(this.rcvNxt, data.length);
    this.sink.event({ kind: 'data', conn: this });
  }

  private insertOutOfOrder(seq: number, data: Uint8Array): void {
    let i = this.ooo.length;
    while (i > 0 && seqLt(seq, this.ooo[i - 1]!.seq)) i--;
    const before = this.ooo[i - 1];
    if (before && before.seq === seq && before.data.length >= data.length) return; // already held
    this.ooo.splice(i, 0, { seq, data: data.slice() });
  }

  private drainOutOfOrder(): void {
    while (this.ooo.length > 0 && seqLe(this.ooo[0]!.seq, this.rcvNxt)) {
      const { seq, data } = this.ooo.shift()!;
      const skip = seqDiff(this.rcvNxt, seq);
      if (skip < data.length) this.deliver(data.subarray(skip));
    }
  }

  private peerFin(now: number): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.ooo = [];
    this.oooFin = null;
    if (this.state === 'ESTABLISHED') this.state = 'CLOSE_WAIT';
    else if (this.state === 'FIN_WAIT_1') this.state = 'CLOSING';
    else if (this.state === 'FIN_WAIT_2') this.enterTimeWait(now);
    this.sink.event({ kind: 'end', conn: this });
  }

  private enterTimeWait(now: number): void {
    this.state = 'TIME_WAIT';
    this.rtoDeadline = null;
    this.timeWaitDeadline = now + this.params.timeWaitUs;
  }

  private finish(reason: CloseReason): void {
    this.state = 'CLOSED';
    this.rtoDeadline = null;
    this.timeWaitDeadline = null;
    this.sink.event({ kind: 'closed', conn: this, reason });
  }

  // ---- sending --------------------------------------------------------------------------

  private flight(): number {
    return seqDiff(this.sndNxt, this.sndUna);
  }

  /** Bytes in the send buffer at or after SND.NXT. */
  private unsentData(): number {
    return Math.max(0, this.sendBuffer.length - Math.max(0, seqDiff(this.sndNxt, this.bufSeq)));
  }

  private finSendable(): boolean {
    return this.finQueued && this.sndNxt === this.sndEnd && this.state !== 'FIN_WAIT_2' && this.state !== 'TIME_WAIT';
  }

  private sendSyn(now: number): void {
    this.sndNxt = seqAdd(this.iss, 1);
    if (seqLt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
    const synAck = this.state === 'SYN_RECEIVED';
    this.lastWindowSent = Math.min(this.receiveSpace(), WINDOW_FIELD_MAX);
    this.sink.output(this.packet(SYN | (synAck ? ACK : 0), this.iss, this.lastWindowSent, new Uint8Array(0), {
      mss: this.params.mss,
      // Announce scaling on a SYN, and on a SYN-ACK only if the peer's SYN did (RFC 7323 §1.3).
      wscale: synAck && !this.scaling ? undefined : this.params.windowShift,
    }));
    if (this.retries === 0) this.timed = { end: this.sndNxt, at: now };
    this.rtoDeadline = now + this.rto.rtoUs;
  }

  /** Sends one data (or FIN) segment if the windows allow; false when nothing more can go. */
  private sendNextSegment(now: number): boolean {
    const offset = seqDiff(this.sndNxt, this.bufSeq);
    const unsent = this.unsentData();
    if (unsent === 0) {
      if (!this.finSendable()) return false;
      this.sendSegment(now, this.sndNxt, new Uint8Array(0), true);
      return true;
    }
    const usable = Math.min(this.sndWnd, this.cwnd) - this.flight();
    let length = Math.min(this.sndMss, unsent, usable);
    if (length <= 0) {
      if (!this.probe) return false;
      length = 1;
    } else if (length < this.sndMss && length < unsent && this.flight() > 0) {
      return false; // sender-side silly-window avoidance: wait for the window to open properly
    }
    this.probe = false;
    const fin = this.finQueued && length === unsent;
    this.sendSegment(now, this.sndNxt, this.sendBuffer.peek(offset, length), fin);
    return true;
  }

  private sendSegment(now: number, seq: number, data: Uint8Array, fin: boolean): void {
    const retransmission = seqLt(seq, this.sndMax);
    this.sink.output(this.packet(ACK | (data.length > 0 ? PSH : 0) | (fin ? FIN : 0), seq, this.windowField(), data));
    this.sndNxt = seqAdd(seq, data.length + (fin ? 1 : 0));
    if (seqLt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
    if (fin) {
      if (this.state === 'ESTABLISHED') this.state = 'FIN_WAIT_1';
      else if (this.state === 'CLOSE_WAIT') this.state = 'LAST_ACK';
    }
    if (!retransmission && this.timed === null) this.timed = { end: this.sndNxt, at: now };
    if (retransmission) this.timed = null; // Karn: never time a retransmitted range
    if (this.rtoDeadline === null) this.rtoDeadline = now + this.rto.rtoUs;
  }

  /** Fast retransmit and NewReno's partial acknowledgements: resend the segment at SND.UNA. */
  private retransmitFirst(): void {
    const inFlight = this.flight();
    if (inFlight <= 0) return;
    const offset = Math.max(0, seqDiff(this.sndUna, this.bufSeq));
    const length = Math.min(this.sndMss, Math.max(0, this.sendBuffer.length - offset), inFlight);
    const fin = this.finQueued && seqAdd(this.sndUna, length) === this.sndEnd && seqLt(this.sndEnd, this.sndNxt);
    if (length === 0 && !fin) return;
    this.sink.output(this.packet(ACK | (length > 0 ? PSH : 0) | (fin ? FIN : 0), this.sndUna, this.windowField(), this.sendBuffer.peek(offset, length)));
    this.timed = null;
  }

  /**
   * A segment without data carries SND.MAX, as BSD's does: after going back to SND.UNA, a stale
   * SND.NXT would fall below the peer's RCV.NXT and make the peer drop the ACK unread.
   */
  private sendControl(flags: number): void {
    this.sink.output(this.packet(flags, this.sndMax, this.windowField(), new Uint8Array(0)));
    this.ackNeeded = false;
  }

  /** A segment outside the connection's own sequence space (a reset answering a bad ACK). */
  private sendRaw(flags: number, seq: number, ack: number): void {
    this.sink.output({
      srcIp: this.local.ip, dstIp: this.remote.ip, srcPort: this.local.port, dstPort: this.remote.port,
      seq, ack, flags, window: 0, payload: new Uint8Array(0),
    });
  }

  private packet(flags: number, seq: number, window: number, payload: Uint8Array, options: { mss?: number; wscale?: number } = {}): TcpPacket {
    const p: TcpPacket = {
      srcIp: this.local.ip, dstIp: this.remote.ip, srcPort: this.local.port, dstPort: this.remote.port,
      seq, ack: flags & ACK ? this.rcvNxt : 0, flags, window, payload,
    };
    if (options.mss !== undefined) p.mss = options.mss;
    if (options.wscale !== undefined) p.wscale = options.wscale;
    return p;
  }

  /** Free receive space: the buffer minus bytes received in order and not yet read. */
  private receiveSpace(): number {
    return Math.max(0, this.params.receiveBufferSize - this.recvQueue.length);
  }

  private windowField(): number {
    const field = Math.min(WINDOW_FIELD_MAX, this.receiveSpace() >>> this.rcvShift);
    this.lastWindowSent = field << this.rcvShift;
    return field;
  }

  /** After a read: worth an update if the window was under an MSS, or grew by half the buffer. */
  private windowUpdateWorthSending(): boolean {
    const now = Math.min(WINDOW_FIELD_MAX << this.rcvShift, this.receiveSpace());
    return (this.lastWindowSent < this.params.mss && now >= this.params.mss) || now - this.lastWindowSent >= this.params.receiveBufferSize / 2;
  }

  private sample(now: number, ack: number): void {
    if (this.timed && seqLe(this.timed.end, ack)) {
      this.rto.sample(now - this.timed.at);
      this.timed = null;
    }
  }

  // ---- migration ------------------------------------------------------------------------

  exportState(now: number): TcpControlBlockState {
    const deadline = this.deadline();
    const unackedBytes = Math.min(this.sendBuffer.length, Math.max(0, seqDiff(this.sndNxt, this.bufSeq)));
    const unackedQueue: { seq: number; data: Uint8Array }[] = [];
    for (let off = 0; off < unackedBytes; off += this.sndMss) {
      unackedQueue.push({ seq: seqAdd(this.bufSeq, off), data: this.sendBuffer.peek(off, Math.min(this.sndMss, unackedBytes - off)) });
    }
    const unsent = this.sendBuffer.length - unackedBytes;
    const readerNext = seqAdd(this.rcvNxt, -(this.recvQueue.length + (this.finReceived() ? 1 : 0)));
    return {
      local: { ...this.local },
      remote: { ...this.remote },
      receiveBufferSize: this.params.receiveBufferSize,
      windowScale: this.rcvShift,
      outOfOrderFin: this.oooFin,
      outOfOrderQueue: this.ooo.map((s) => ({ seq: s.seq, data: s.data.slice() })),
      readerNext,
      receiveNext: this.rcvNxt,
      recvQueue: this.recvQueue.length > 0 ? [this.recvQueue.peek(0, this.recvQueue.length)] : [],
      unsentSeqNo: this.sndEnd,
      sendUnacked: this.sndUna,
      sendNext: this.sndNxt,
      sendWindow: this.sndWnd,
      sendWindowLastUpdateSeq: this.wl1,
      sendWindowLastUpdateAck: this.wl2,
      mss: this.sndMss,
      sendWindowScale: this.sndShift,
      unackedQueue,
      unsentQueue: unsent > 0 ? [this.sendBuffer.peek(unackedBytes, unsent)] : [],
      state: this.state,
      iss: this.iss,
      finQueued: this.finQueued,
      sendMax: this.sndMax,
      srttUs: Math.round(this.rto.srttUs),
      rttvarUs: Math.round(this.rto.rttvarUs),
      rtoUs: this.rto.rtoUs,
      timerRemainingUs: deadline === null ? null : Math.max(0, deadline - now),
      retries: this.retries,
      ackPending: this.ackNeeded,
    };
  }

  /**
   * Rebuilds a connection from its exported state on another host, with `local` overwritten to
   * this host's address (Capybara's target does the same). Congestion control restarts from the
   * initial window; the RTT estimate and the time left on the timer carry over.
   */
  static fromState(params: TcpParams, sink: ConnectionSink, s: TcpControlBlockState, local: Endpoint, now: number): TcpConnection {
    if (s.state === 'CLOSED') throw new Error('a closed connection cannot be rebuilt');
    const c = new TcpConnection({ ...params, receiveBufferSize: s.receiveBufferSize }, sink, local, { ...s.remote }, s.iss, s.state);
    c.rcvShift = s.windowScale;
    c.oooFin = s.outOfOrderFin;
    c.ooo = s.outOfOrderQueue.map((x) => ({ seq: x.seq, data: x.data.slice() }));
    c.rcvNxt = s.receiveNext;
    for (const b of s.recvQueue) c.recvQueue.push(b.slice());
    c.sndEnd = s.unsentSeqNo;
    c.sndUna = s.sendUnacked;
    c.sndNxt = s.sendNext;
    c.sndMax = s.sendMax;
    c.sndWnd = s.sendWindow;
    c.wl1 = s.sendWindowLastUpdateSeq;
    c.wl2 = s.sendWindowLastUpdateAck;
    c.sndMss = s.mss;
    c.sndShift = s.sendWindowScale;
    c.finQueued = s.finQueued;
    let buffered = 0;
    for (const seg of s.unackedQueue) {
      c.sendBuffer.push(seg.data.slice());
      buffered += seg.data.length;
    }
    for (const b of s.unsentQueue) {
      c.sendBuffer.push(b.slice());
      buffered += b.length;
    }
    c.bufSeq = seqAdd(s.unsentSeqNo, -buffered);
    c.rto.restore(s.srttUs, s.rttvarUs, s.rtoUs);
    c.lastWindowSent = c.receiveSpace();
    c.retries = s.retries;
    c.ackNeeded = s.ackPending;
    c.lastHeardAt = now;
    // A SYN not yet sent (SND.NXT still at the ISS) goes out from the new host.
    c.synNeeded = (s.state === 'SYN_SENT' || s.state === 'SYN_RECEIVED') && s.sendNext === s.iss;
    if (s.timerRemainingUs !== null) {
      if (s.state === 'TIME_WAIT') c.timeWaitDeadline = now + s.timerRemainingUs;
      else c.rtoDeadline = now + s.timerRemainingUs;
    }
    sink.dirty(c);
    return c;
  }

  private finReceived(): boolean {
    return this.state === 'CLOSE_WAIT' || this.state === 'CLOSING' || this.state === 'LAST_ACK' || this.state === 'TIME_WAIT';
  }
}
