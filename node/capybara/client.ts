import { Heap } from 'heap-js';
import type { Core, Ctx, NodeId, Random } from '../runtime/core.js';
import type { CapybaraMsg } from './messages.js';
import { takeReply } from './replies.js';
import type { TcpConnection, TcpEvent } from './tcp/connection.js';
import type { TcpParams } from './tcp/params.js';
import { keepAlive } from './tcp/keepalive.js';
import { StackPump } from './tcp/pump.js';
import { TcpStack } from './tcp/stack.js';
import { ipOf } from './topology.js';

/**
 * A Capybara client host: many TCP connections to the service's VIP, each with its own request
 * rate, open-loop (Poisson arrivals, requests pipelined) or closed-loop (one outstanding request).
 * Rates follow a Zipf law over the connections; the step workload multiplies the rates of the
 * connections the switch's round-robin places on server 0 (indices ≡ 0 mod servers) by
 * `stepFactor` from `stepAtUs` on, as in the paper's step figure; bursts multiply every rate for
 * a while at a fixed period. (A rate change takes effect from each connection's next arrival.)
 *
 * Every request is checked: for the key-value application each connection first stores a blob of
 * `stateBytes` and then issues INCR on its own counter, so a reply must be exactly the next
 * integer (a request executed twice skips one, a lost one never answers) and the blob is read
 * back at the end; for echo every line must come back verbatim and in order. A reset is counted
 * (under Capybara it must never happen); the client then reconnects, as real clients do, and
 * resends what was outstanding — which is the `reconnect` baseline's whole story. Idle
 * connections are probed (TCP keep-alive), so one whose server restarted is reset and reopened
 * before it is needed.
 */

export interface ClientWorkload {
  connections: number;
  /** Requests per second over all connections (open loop); ignored in closed loop. */
  rate: number;
  loop: 'open' | 'closed';
  zipf: number;
  stepAtUs: number | null;
  stepFactor: number;
  /** Every connection's rate is multiplied by `factor` for `lengthUs` out of every `everyUs` (null: no bursts). */
  bursts: { everyUs: number; lengthUs: number; factor: number } | null;
  servers: number;
  app: 'kv' | 'echo';
  /** Bytes of the per-connection blob (the session state that migrates). */
  stateBytes: number;
}

export interface ClientParams {
  id: NodeId;
  switchNode: NodeId;
  vip: number;
  servicePort: number;
  tcp: TcpParams;
  workload: ClientWorkload;
  /** Idle time before a connection's server is probed, and the probe interval. */
  keepaliveUs: number;
}

export interface ClientObserver {
  completed(latencyUs: number, ok: boolean): void;
}

export interface ClientTally {
  completed: number;
  /** Replies that prove a request ran twice, or answered out of turn. */
  duplicated: number;
  mismatched: number;
  resets: number;
  /** Connections given up after the retransmission limit. */
  timeouts: number;
  reconnects: number;
  /**
   * Requests outstanding on a connection when it was reset or timed out (a server restarted, or
   * the reconnect baseline cut it off): sent again on the new connection, but the old server may
   * have executed them before it lost the connection, so each may have run once more than the
   * client saw. With the requests outstanding when a client host itself restarts, these are the
   * only requests a restart may lose or repeat.
   */
  cut: number;
  /**
   * Key-value sessions lost with their connection (a reset, a timeout): the new connection's
   * server knows nothing of the old keyspace, so the client stores its blob again and its counter
   * starts over — what a real reconnect costs, and what migration avoids.
   */
  sessionsRebuilt: number;
}

interface Pending {
  sentAt: number;
  /** The reply expected (INCR value, echoed line, or the blob). */
  expect: string;
}

interface Conn {
  index: number;
  conn: TcpConnection;
  rateRps: number;
  pending: Pending[];
  inbox: string;
  counter: number;
  ready: boolean;
  closing: boolean;
  /** The blob has been asked back (after stop). */
  readBack: boolean;
  /** Its Poisson arrival process is running. */
  arriving: boolean;
  blob: string;
  next: number;
}

const latin1 = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** Zipf weights over n ranks, summing to 1. */
export function zipfWeights(n: number, s: number): number[] {
  const raw = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / sum);
}

export class ClientCore implements Core<CapybaraMsg> {
  readonly stack: TcpStack;
  private readonly pump: StackPump<CapybaraMsg>;
  readonly conns: Conn[] = [];
  private readonly byConn = new Map<TcpConnection, Conn>();
  private readonly arrivals = new Heap<{ at: number; c: Conn }>((a, b) => a.at - b.at);
  readonly tally: ClientTally = { completed: 0, duplicated: 0, mismatched: 0, resets: 0, timeouts: 0, reconnects: 0, cut: 0, sessionsRebuilt: 0 };
  private stopped = false;
  private armedAt: number | null = null;
  /** When this client started: the step workload's time zero. */
  private startedAt = 0;

  constructor(
    readonly params: ClientParams,
    private readonly observer: ClientObserver,
    private readonly random: Random,
  ) {
    this.stack = new TcpStack(ipOf(params.id), params.tcp, random);
    this.pump = new StackPump(this.stack, () => params.switchNode, (packet) => ({ kind: 'tcp', packet }));
  }

  /** Requests sent and not answered (after `stop`, the ones lost). */
  get outstanding(): number {
    return this.conns.reduce((n, c) => n + c.pending.length, 0);
  }

  start(ctx: Ctx<CapybaraMsg>): void {
    this.startedAt = ctx.now;
    const w = this.params.workload;
    const weights = zipfWeights(w.connections, w.zipf);
    for (let i = 0; i < w.connections; i++) {
      const c: Conn = {
        index: i, conn: this.open(), rateRps: w.rate * weights[i]!, pending: [], inbox: '', counter: 0, ready: false, closing: false, readBack: false, arriving: false,
        blob: this.blob(w.stateBytes), next: 0,
      };
      this.conns.push(c);
      this.byConn.set(c.conn, c);
    }
    ctx.setTimer('keepalive', this.params.keepaliveUs);
    this.settle(ctx);
  }

  /** Stops issuing requests; each connection closes once its outstanding requests are answered and its blob read back. */
  stop(ctx: Ctx<CapybaraMsg>): void {
    this.stopped = true;
    for (const c of this.conns) this.finish(c, ctx.now);
    this.settle(ctx);
  }

  command(ctx: Ctx<CapybaraMsg>, command: unknown): void {
    if (command === 'stop') this.stop(ctx);
  }

  receive(ctx: Ctx<CapybaraMsg>, msg: CapybaraMsg): void {
    if (msg.kind === 'tcp') this.stack.receive(ctx.now, msg.packet);
    this.settle(ctx);
  }

  timer(ctx: Ctx<CapybaraMsg>, name: string): void {
    if (name === this.pump.timerName) this.pump.fire(ctx);
    if (name === 'arrivals') {
      this.armedAt = null;
      this.arrive(ctx);
    }
    if (name === 'keepalive') {
      // A silent server is one that lost the connection: counted as a timeout when it closes.
      keepAlive(ctx.now, this.params.keepaliveUs, this.stack.all(), () => {});
      ctx.setTimer('keepalive', this.params.keepaliveUs);
    }
    this.settle(ctx);
  }

  private open(): TcpConnection {
    return this.stack.connect({ ip: this.params.vip, port: this.params.servicePort });
  }

  private blob(bytes: number): string {
    let s = '';
    while (s.length < bytes) s += Math.floor(this.random.next() * 36 ** 8).toString(36).padStart(8, '0');
    return s.slice(0, bytes);
  }

  private rateOf(c: Conn, now: number): number {
    const w = this.params.workload;
    const t = now - this.startedAt;
    const stepped = w.stepAtUs !== null && t >= w.stepAtUs && c.index % w.servers === 0;
    const burst = w.bursts !== null && t % w.bursts.everyUs < w.bursts.lengthUs;
    return c.rateRps * (stepped ? w.stepFactor : 1) * (burst ? w.bursts!.factor : 1);
  }

  private schedule(c: Conn, now: number): void {
    const rate = this.rateOf(c, now);
    if (rate <= 0) return;
    // Exponential inter-arrival times: a Poisson process per connection.
    const gap = (-Math.log(1 - this.random.next()) / rate) * 1e6;
    this.arrivals.push({ at: now + Math.max(1, gap), c });
  }

  private arrive(ctx: Ctx<CapybaraMsg>): void {
    for (;;) {
      const top = this.arrivals.peek();
      if (!top || top.at > ctx.now || this.stopped) return;
      this.arrivals.pop();
      if (top.c.ready) this.request(ctx, top.c);
      // The next arrival follows this one's time, not the timer's: a timer that fires late (a
      // loaded machine, millisecond timers) must not thin the offered load.
      this.schedule(top.c, top.at);
    }
  }

  private request(ctx: Ctx<CapybaraMsg>, c: Conn): void {
    const app = this.params.workload.app;
    let line: string;
    let expect: string;
    if (app === 'kv') {
      c.counter++;
      line = 'INCR counter\r\n';
      expect = `:${c.counter}`;
    } else {
      line = `${this.params.id}:${c.index}:${c.next++}:${this.blob(16)}\n`;
      expect = line;
    }
    c.pending.push({ sentAt: ctx.now, expect });
    c.conn.write(latin1(line));
  }

  private settle(ctx: Ctx<CapybaraMsg>): void {
    for (const e of this.stack.events()) this.onEvent(ctx, e);
    const top = this.arrivals.peek();
    if (top && !this.stopped && top.at !== this.armedAt) {
      this.armedAt = top.at;
      ctx.setTimer('arrivals', top.at - ctx.now);
    }
    this.pump.run(ctx);
  }

  private onEvent(ctx: Ctx<CapybaraMsg>, e: TcpEvent): void {
    const c = this.byConn.get(e.conn);
    if (!c) return;
    if (e.kind === 'connected') this.connected(ctx, c);
    else if (e.kind === 'data') this.replies(ctx, c);
    else if (e.kind === 'closed') {
      this.byConn.delete(e.conn);
      c.ready = false;
      if (e.reason === 'normal') return;
      if (e.reason === 'timeout' || e.reason === 'aborted') this.tally.timeouts++;
      else this.tally.resets++;
      this.tally.cut += c.pending.length;
      // After stop, only to finish what was outstanding.
      if (!this.stopped || c.pending.length > 0) this.reconnect(ctx, c);
    }
  }

  private connected(ctx: Ctx<CapybaraMsg>, c: Conn): void {
    const w = this.params.workload;
    c.ready = true;
    const resend = c.pending;
    c.pending = [];
    if (w.app === 'kv') {
      // The session's blob first (pipelined ahead of the first request), then the rate's requests.
      c.conn.write(latin1(`SET blob ${c.blob}\r\n`));
      c.pending.push({ sentAt: ctx.now, expect: '+OK' });
    }
    // Requests cut off by a reset, sent again in their order on the new connection.
    for (const p of resend) {
      c.conn.write(latin1(w.app === 'kv' ? 'INCR counter\r\n' : p.expect));
      c.pending.push(p);
    }
    if (this.stopped) {
      this.finish(c, ctx.now);
    } else if (w.loop === 'closed') {
      if (c.pending.length === 0) this.request(ctx, c);
    } else if (!c.arriving) {
      // One arrival process per connection slot, kept across reconnects.
      c.arriving = true;
      this.schedule(c, ctx.now);
    }
  }

  private reconnect(ctx: Ctx<CapybaraMsg>, c: Conn): void {
    this.tally.reconnects++;
    // Requests cut off with the connection are sent again on the new one; their latency keeps running.
    const outstanding = c.pending;
    c.pending = [];
    c.ready = false;
    c.inbox = '';
    c.counter = 0;
    c.conn = this.open();
    this.byConn.set(c.conn, c);
    if (this.params.workload.app === 'kv') {
      this.tally.sessionsRebuilt++;
      for (const p of outstanding) {
        if (p.expect === '+OK' || p.expect.startsWith('$')) continue;
        c.counter++;
        c.pending.push({ sentAt: p.sentAt, expect: `:${c.counter}` });
      }
    } else {
      c.pending = outstanding;
    }
    this.settle(ctx);
  }

  private replies(ctx: Ctx<CapybaraMsg>, c: Conn): void {
    c.inbox += Buffer.from(c.conn.read()).toString('latin1');
    for (;;) {
      const next = takeReply(c.inbox, this.params.workload.app);
      if (next === null) break;
      const { reply } = next;
      c.inbox = next.rest;
      const p = c.pending.shift();
      if (!p) {
        this.tally.mismatched++;
        continue;
      }
      const ok = reply === p.expect;
      if (!ok) {
        const got = /^:(\d+)$/.exec(reply);
        const want = /^:(\d+)$/.exec(p.expect);
        if (got && want && Number(got[1]) > Number(want[1])) this.tally.duplicated++;
        else this.tally.mismatched++;
      }
      this.tally.completed++;
      this.observer.completed(ctx.now - p.sentAt, ok);
      if (this.params.workload.loop === 'closed' && !this.stopped && c.pending.length === 0) this.request(ctx, c);
    }
    if (this.stopped) this.finish(c, ctx.now);
  }

  /** After stop: read the blob back, then close once nothing is outstanding. */
  private finish(c: Conn, now: number): void {
    if (!c.ready || c.closing || !this.byConn.has(c.conn)) return;
    if (this.params.workload.app === 'kv' && !c.readBack) {
      c.readBack = true;
      c.conn.write(latin1('GET blob\r\n'));
      c.pending.push({ sentAt: now, expect: `$${c.blob}` });
      return;
    }
    if (c.pending.length > 0) return;
    c.closing = true;
    c.conn.close();
  }
}
