import assert from 'node:assert/strict';
import type { Core, Ctx, NodeId } from '../../node/runtime/core.js';
import { Driver } from '../../node/runtime/driver.js';
import { SeededRandom } from '../../node/runtime/random.js';
import { type LinkFaults, SimNetwork } from '../../node/net/sim.js';
import type { TcpConnection, TcpEvent, TcpState } from '../../node/capybara/tcp/connection.js';
import { type TcpPacket, decodeTcpPacket, encodeTcpPacket } from '../../node/capybara/tcp/packet.js';
import { type TcpParams, defaultTcpParams } from '../../node/capybara/tcp/params.js';
import { StackPump } from '../../node/capybara/tcp/pump.js';
import { TcpStack } from '../../node/capybara/tcp/stack.js';
import { decodeTcpState, encodeTcpState } from '../../node/capybara/tcp/state-codec.js';

/**
 * A client host and a server host running the userspace TCP over the seeded simulated network.
 * The client opens a few connections; each side writes its own seeded byte stream in random
 * chunks at random times and closes when done; both may read slowly (closing their windows).
 * With `roundTrip`, connections are taken out of their stack, serialized, decoded, checked to
 * re-encode identically and put back, at random inputs — so the run continues on rebuilt
 * connections, in whatever state they were.
 */

const CLIENT = 1;
const SERVER = 2;
const PORT = 80;
const MS = 1000;
const PACKET_BUDGET = 300_000;
const codec = { encode: encodeTcpPacket, decode: decodeTcpPacket };

export const ipOf = (node: NodeId): number => (0x0a00_0000 + node) >>> 0;
const nodeOf = (ip: number): NodeId => ip - 0x0a00_0000;

export interface TcpSimOptions {
  seed: number;
  faults: Partial<LinkFaults>;
  connections: number;
  /** Bytes each side writes per connection, at most. */
  maxStream: number;
  params: TcpParams;
  /** Hosts read only every `slowReadUs` instead of at once. */
  slowReadUs: number | null;
  /** Probability that a connection is serialized and rebuilt after an input. */
  roundTrip: number;
  /** ISSs just below 2^32, so sequence numbers wrap mid-stream. */
  wrapIss: boolean;
  faultsUntilUs: number;
  /** Prints every received segment and event (TCP_TRACE=1 when replaying a seed). */
  trace?: boolean;
}

interface Stream {
  out: Uint8Array;
  written: number;
  received: Uint8Array[];
  ended: boolean;
  closed: string | null;
}

class Host implements Core<TcpPacket> {
  readonly stack: TcpStack;
  private readonly pump: StackPump<TcpPacket>;
  readonly streams = new Map<TcpConnection, Stream>();
  private readonly rng: SeededRandom;

  constructor(
    readonly node: NodeId,
    private readonly o: TcpSimOptions,
    private readonly plan: { client: Uint8Array; server: Uint8Array }[],
    private readonly exported: Set<TcpState>,
  ) {
    this.rng = new SeededRandom(o.seed * 7919 + node);
    const issRng = new SeededRandom(o.seed * 104729 + node);
    this.stack = new TcpStack(ipOf(node), o.params, { next: () => (o.wrapIss ? 1 - issRng.next() * 2e-5 : issRng.next()) });
    this.pump = new StackPump(this.stack, (p) => nodeOf(p.dstIp), (p) => p);
  }

  start(ctx: Ctx<TcpPacket>): void {
    if (this.o.slowReadUs !== null) ctx.setTimer('read', this.o.slowReadUs);
    if (this.node === SERVER) {
      this.stack.listen(PORT);
    } else {
      for (const p of this.plan) this.streams.set(this.stack.connect({ ip: ipOf(SERVER), port: PORT }), this.stream(p.client));
      ctx.setTimer('write', 0);
    }
    this.settle(ctx);
  }

  receive(ctx: Ctx<TcpPacket>, packet: TcpPacket): void {
    if (this.o.trace) console.log(`${ctx.now} ${this.node === CLIENT ? 'C' : 'S'} <- :${packet.srcPort} ${flagNames(packet.flags)} seq=${packet.seq} ack=${packet.ack} win=${packet.window} len=${packet.payload.length}`);
    this.stack.receive(ctx.now, packet);
    this.settle(ctx);
  }

  timer(ctx: Ctx<TcpPacket>, name: string): void {
    if (name === this.pump.timerName) this.pump.fire(ctx);
    if (name === 'write') this.writeSome(ctx);
    if (name === 'read') {
      for (const [conn, s] of this.streams) this.drain(conn, s);
      ctx.setTimer('read', this.o.slowReadUs!);
    }
    this.settle(ctx);
  }

  /** Every stream fully received and every connection closed normally. */
  done(): boolean {
    return this.streams.size === this.plan.length && [...this.streams.values()].every((s) => s.ended && s.closed !== null);
  }

  private stream(out: Uint8Array): Stream {
    return { out, written: 0, received: [], ended: false, closed: null };
  }

  private writeSome(ctx: Ctx<TcpPacket>): void {
    let more = false;
    for (const [conn, s] of this.streams) {
      if (conn.state === 'CLOSED' || conn.state === 'SYN_SENT' || conn.state === 'SYN_RECEIVED') {
        more ||= conn.state !== 'CLOSED';
        continue;
      }
      if (s.written < s.out.length) {
        const n = Math.min(s.out.length - s.written, 1 + this.rng.int(12_000));
        conn.write(s.out.subarray(s.written, s.written + n));
        s.written += n;
      }
      if (s.written === s.out.length) conn.close();
      else more = true;
    }
    if (more || this.streams.size < this.plan.length) ctx.setTimer('write', 50 + this.rng.int(400));
  }

  private drain(conn: TcpConnection, s: Stream): void {
    const data = conn.read();
    if (data.length > 0) s.received.push(data);
  }

  /** Handles the stack's events, maybe round-trips connections, then pumps. */
  private settle(ctx: Ctx<TcpPacket>): void {
    for (const e of this.stack.events()) this.onEvent(ctx, e);
    if (this.o.roundTrip > 0) {
      for (const conn of [...this.stack.all()]) {
        if (!this.rng.chance(this.o.roundTrip)) continue;
        this.exported.add(conn.state);
        const bytes = encodeTcpState(this.stack.exportConnection(ctx.now, conn));
        const decoded = decodeTcpState(bytes);
        assert.deepEqual(encodeTcpState(decoded), bytes, 'a decoded TCP state re-encodes to the same bytes');
        const rebuilt = this.stack.importConnection(ctx.now, decoded);
        const s = this.streams.get(conn);
        if (!s) continue; // still in its handshake: announced when it completes
        this.streams.delete(conn);
        this.streams.set(rebuilt, s);
      }
      for (const e of this.stack.events()) this.onEvent(ctx, e);
    }
    this.pump.run(ctx);
  }

  private onEvent(ctx: Ctx<TcpPacket>, e: TcpEvent): void {
    if (this.o.trace) console.log(`${ctx.now} ${this.node === CLIENT ? 'C' : 'S'} event ${e.kind} :${e.conn.remote.port}->${e.conn.local.port} ${e.conn.state}${e.kind === 'closed' ? ` ${e.reason}` : ''}`);
    let s = this.streams.get(e.conn);
    if (e.kind === 'accepted') {
      if (s) return; // a round-tripped connection announcing itself again
      const index = e.conn.remote.port - 49152;
      s = this.stream(this.plan[index]!.server);
      this.streams.set(e.conn, s);
      ctx.setTimer('write', 0);
      return;
    }
    if (!s) return;
    if (e.kind === 'data' && this.o.slowReadUs === null) this.drain(e.conn, s);
    if (e.kind === 'end') {
      this.drain(e.conn, s);
      s.ended = true;
    }
    if (e.kind === 'closed') {
      this.drain(e.conn, s);
      s.closed = e.reason;
    }
  }
}

function flagNames(flags: number): string {
  return ['FIN', 'SYN', 'RST', 'PSH', 'ACK'].filter((_, i) => flags & (1 << i)).join('|');
}

export interface TcpSimResult {
  sim: SimNetwork;
  client: Host;
  server: Host;
  plan: { client: Uint8Array; server: Uint8Array }[];
}

function bytesOf(rng: SeededRandom, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

export function runTcpSim(o: TcpSimOptions, exported = new Set<TcpState>()): TcpSimResult {
  const rng = new SeededRandom(o.seed);
  const plan = Array.from({ length: o.connections }, () => ({
    client: bytesOf(rng, rng.int(o.maxStream + 1)),
    server: bytesOf(rng, rng.int(o.maxStream + 1)),
  }));
  const sim = new SimNetwork(o.seed, o.faults);
  const hosts = new Map<NodeId, Host>();
  for (const node of [SERVER, CLIENT]) {
    sim.addNode(node, ({ transport, clock, scheduler }) => {
      const host = new Host(node, o, plan, exported);
      hosts.set(node, host);
      return new Driver(host, codec, transport, clock, scheduler);
    });
  }
  sim.runUntil(o.faultsUntilUs);
  sim.faults = { ...sim.faults, loss: 0, duplicate: 0, reorder: 0, jitterUs: 0 };
  const client = hosts.get(CLIENT)!;
  const server = hosts.get(SERVER)!;
  // Bounded in virtual time and in packets, so a broken stack fails its seed instead of spinning.
  for (let t = o.faultsUntilUs; t < 5_000 * MS && sim.stats.sent < PACKET_BUDGET && !(client.done() && server.done()); t += 10 * MS) {
    sim.runUntil(t);
  }
  // Let TIME-WAIT run out.
  sim.runFor(2 * o.params.timeWaitUs);
  return { sim, client, server, plan };
}

export { concat } from '../../node/crypto/bytes.js';
export { defaultTcpParams };
