import { Heap } from 'heap-js';
import type { Random } from '../../runtime/core.js';
import { type ConnectionSink, type Endpoint, type TcpControlBlockState, TcpConnection, type TcpEvent } from './connection.js';
import { ACK, RST, SYN, type TcpPacket, segmentLength } from './packet.js';
import type { TcpParams } from './params.js';
import { seqAdd } from './seq.js';

/**
 * A host's TCP: the connection table, listening ports, ephemeral ports, the timer wheel
 * (one deadline per connection in a heap) and the socket-like surface the application uses.
 * Pure like the connections: the host core feeds it packets and `now`, drains `events()` for
 * the application, then calls `flush(now)` and sends what `outbox()` returns, and arms one timer
 * for `nextDeadline()`.
 */

const EPHEMERAL_FIRST = 49152;
const EPHEMERAL_COUNT = 65536 - EPHEMERAL_FIRST;

export interface TcpStackCounters {
  /** Segments for no connection and no listener, answered with a reset. */
  resets: number;
  /** Segments dropped silently: a reset for no connection, or a SYN to a closed port's reset answer. */
  ignored: number;
}

function keyOf(remoteIp: number, remotePort: number, localPort: number): string {
  return `${remoteIp}:${remotePort}:${localPort}`;
}

export class TcpStack implements ConnectionSink {
  private readonly connections = new Map<string, TcpConnection>();
  private readonly listeners = new Set<number>();
  private readonly pending = new Set<TcpConnection>();
  private readonly deadlines = new Heap<{ at: number; conn: TcpConnection }>((a, b) => a.at - b.at);
  private readonly scheduled = new Map<TcpConnection, number>();
  private queuedEvents: TcpEvent[] = [];
  private packets: TcpPacket[] = [];
  private nextEphemeral = 0;
  readonly counters: TcpStackCounters = { resets: 0, ignored: 0 };

  constructor(
    /** This host's address: the local address of every connection it holds. */
    readonly ip: number,
    readonly params: TcpParams,
    private readonly random: Random,
  ) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Every connection this host holds, in any state. */
  all(): IterableIterator<TcpConnection> {
    return this.connections.values();
  }

  listen(port: number): void {
    this.listeners.add(port);
  }

  /** Opens a connection to `remote` from a free ephemeral port. */
  connect(remote: Endpoint): TcpConnection {
    for (let tries = 0; tries < EPHEMERAL_COUNT; tries++) {
      const port = EPHEMERAL_FIRST + ((this.nextEphemeral++) % EPHEMERAL_COUNT);
      const key = keyOf(remote.ip, remote.port, port);
      if (this.connections.has(key)) continue;
      const conn = TcpConnection.connect(this.params, this, { ip: this.ip, port }, remote, this.iss());
      this.connections.set(key, conn);
      return conn;
    }
    throw new Error(`no free ephemeral port towards ${remote.ip}:${remote.port}`);
  }

  /** The connection a packet addressed to this host belongs to, if any. */
  find(p: TcpPacket): TcpConnection | undefined {
    return this.lookup(p.srcIp, p.srcPort, p.dstPort);
  }

  lookup(remoteIp: number, remotePort: number, localPort: number): TcpConnection | undefined {
    return this.connections.get(keyOf(remoteIp, remotePort, localPort));
  }

  receive(now: number, p: TcpPacket): void {
    const conn = this.find(p);
    if (conn) {
      conn.receive(now, p);
      return;
    }
    if (p.flags & RST) {
      this.counters.ignored++;
      return;
    }
    if (p.flags & SYN && !(p.flags & ACK) && this.listeners.has(p.dstPort)) {
      const local = { ip: this.ip, port: p.dstPort };
      this.connections.set(keyOf(p.srcIp, p.srcPort, p.dstPort), TcpConnection.accept(this.params, this, local, p, this.iss()));
      return;
    }
    // RFC 9293 §3.10.7.1: a segment for no connection is answered with a reset.
    this.counters.resets++;
    const reset: TcpPacket = {
      srcIp: this.ip, dstIp: p.srcIp, srcPort: p.dstPort, dstPort: p.srcPort,
      seq: p.flags & ACK ? p.ack : 0, ack: p.flags & ACK ? 0 : seqAdd(p.seq, segmentLength(p)),
      flags: p.flags & ACK ? RST : RST | ACK, window: 0, payload: new Uint8Array(0),
    };
    this.packets.push(reset);
  }

  /** Runs the timers of every connection whose deadline has passed. */
  timers(now: number): void {
    for (;;) {
      const top = this.deadlines.peek();
      if (!top || top.at > now) return;
      this.deadlines.pop();
      if (this.scheduled.get(top.conn) !== top.at) continue;
      this.scheduled.delete(top.conn);
      top.conn.timer(now);
      this.dirty(top.conn);
    }
  }

  /** Transmits for every connection with something due and re-arms their deadlines. */
  flush(now: number): void {
    for (const conn of this.pending) {
      if (!this.holds(conn)) continue;
      conn.transmit(now);
      this.reschedule(conn);
    }
    this.pending.clear();
  }

  nextDeadline(): number | null {
    for (;;) {
      const top = this.deadlines.peek();
      if (!top) return null;
      if (this.scheduled.get(top.conn) === top.at) return top.at;
      this.deadlines.pop();
    }
  }

  /** Application events since the last call, in order. */
  events(): TcpEvent[] {
    const out = this.queuedEvents;
    this.queuedEvents = [];
    return out;
  }

  /** Packets to send since the last call, in order. */
  outbox(): TcpPacket[] {
    const out = this.packets;
    this.packets = [];
    return out;
  }

  /** Migrates a connection out: its whole state, after which this host forgets it. */
  exportConnection(now: number, conn: TcpConnection): TcpControlBlockState {
    const state = conn.exportState(now);
    this.forget(conn);
    return state;
  }

  /**
   * Migrates a connection in: rebuilt with this host's address as its local one and announced to
   * the application as accepted (one still in its handshake is announced when that completes).
   */
  importConnection(now: number, state: TcpControlBlockState): TcpConnection {
    const key = keyOf(state.remote.ip, state.remote.port, state.local.port);
    if (this.connections.has(key)) throw new Error(`a connection from ${state.remote.ip}:${state.remote.port} to port ${state.local.port} already exists`);
    const conn = TcpConnection.fromState(this.params, this, state, { ip: this.ip, port: state.local.port }, now);
    this.connections.set(key, conn);
    if (conn.state !== 'SYN_SENT' && conn.state !== 'SYN_RECEIVED') this.queuedEvents.push({ kind: 'accepted', conn });
    return conn;
  }

  // ---- ConnectionSink --------------------------------------------------------------------

  output(packet: TcpPacket): void {
    this.packets.push(packet);
  }

  event(event: TcpEvent): void {
    this.queuedEvents.push(event);
    if (event.kind === 'closed') this.forget(event.conn);
  }

  dirty(conn: TcpConnection): void {
    this.pending.add(conn);
  }

  private holds(conn: TcpConnection): boolean {
    return this.connections.get(keyOf(conn.remote.ip, conn.remote.port, conn.local.port)) === conn;
  }

  private forget(conn: TcpConnection): void {
    if (this.holds(conn)) this.connections.delete(keyOf(conn.remote.ip, conn.remote.port, conn.local.port));
    this.pending.delete(conn);
    this.scheduled.delete(conn);
  }

  private reschedule(conn: TcpConnection): void {
    const at = conn.deadline();
    if (at === this.scheduled.get(conn)) return;
    if (at === null) {
      this.scheduled.delete(conn);
      return;
    }
    this.scheduled.set(conn, at);
    this.deadlines.push({ at, conn });
  }

  private iss(): number {
    return Math.floor(this.random.next() * 0x1_0000_0000) >>> 0;
  }
}
