import { LRUCache } from 'lru-cache';
import type { Core, Ctx, NodeId, WireReason } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { Fragments } from '../protocol/reassembly.js';
import { Reader, Writer } from '../runtime/wire.js';
import type { StreamApp, StreamSession } from './app/session.js';
import { MAX_FRAGMENT } from './codec.js';
import { type CapybaraMsg, FLAG_LOAD, FLAG_NEXT_FRAGMENT, FLAG_UNKNOWN, MAX_OWNED_PER_MESSAGE, type MigHeader, STAGE, type Stage } from './messages.js';
import { type MigrationPolicy, chooseMigrations, pastWeight } from './policy.js';
import type { TcpConnection, TcpControlBlockState, TcpEvent } from './tcp/connection.js';
import { FIN, SYN, type TcpPacket, rewriteEndpoint } from './tcp/packet.js';
import type { TcpParams } from './tcp/params.js';
import { keepAlive } from './tcp/keepalive.js';
import { StackPump } from './tcp/pump.js';
import { TcpStack } from './tcp/stack.js';
import { decodeTcpState, encodeTcpState } from './tcp/state-codec.js';
import { ServiceQueue } from './service-queue.js';
import { endpointKey, formatEndpoint, formatIp, ipOf, isClientIp, isServerIp, nodeOfIp } from './topology.js';
import type { Random } from '../runtime/core.js';

/**
 * A Capybara backend: the userspace TCP stack, the application's sessions, per-connection request
 * rates, the migration policy and both sides of the migration protocol (docs/capybara.md#tcpmig-phases).
 *
 * Origin: INIT_MIG → PREPARE_MIG to the switch (which picks the target) → on PREPARE_MIG_ACK the
 * connection is exported with its application session and sent as CONN_STATE fragments, resent
 * until CONN_STATE_ACK. Until the ACK arrives the origin may abandon the attempt (a REJECTED with
 * LOAD, resent until the target confirms), so the connection is always served by exactly one
 * side. Segments that still reach the origin after the export are forwarded to the target.
 * Target: PREPARE_MIG → buffer the client's segments, answer PREPARE_MIG_ACK with LOAD; on the
 * whole CONN_STATE rebuild the connection and session, acknowledge, replay the buffered segments.
 *
 * Every address a migration message names is checked before use (the network is trusted, not
 * authenticated — a member's address can be spoofed): the client must be one of the testbed's
 * clients, the origin and target other servers, and a CONN_STATE must describe the very
 * connection its header names, on the service port (whose PREPARE_MIG was refused if this server
 * held that connection), never another one.
 * Anything else is refused and counted by reason (`switchyard_capybara_rejected_total`).
 *
 * Restarts (Switchyard's; any member may come back with empty state):
 * - a new switch incarnation in the RPS signal: announce every connection held here (OWN), and
 *   answer the switch's WHO_HAS for a client whose connection is held here;
 * - a target that does not know a CONN_STATE (it restarted after PREPARE_MIG_ACK) says so
 *   (REJECTED with UNKNOWN); the origin, which exported the connection, counts it `lost`;
 * - a target still awaiting a CONN_STATE after INCOMING_PROBE_RETRIES resend intervals asks the
 *   origin (PREPARE_MIG_ACK with UNKNOWN, every interval); an origin with no such migration (it
 *   restarted, or the attempt ended) answers REJECTED with UNKNOWN, and the target lets go as on
 *   an abandonment, counted (`migration-expired`);
 * - a connection whose client has been silent for `keepaliveUs` is probed (TCP keep-alive): a
 *   restarted client's host answers with a reset, and one silent for longer is aborted, counted
 *   (`dead-peer`).
 */

export type MigrationMode = 'capybara' | 'none' | 'reconnect';

export interface ServerParams {
  id: NodeId;
  switchNode: NodeId;
  servicePort: number;
  servers: number;
  /** Clients 0..clients-1: a migration must name one of them. */
  clients: number;
  app: StreamApp;
  mode: MigrationMode;
  policy: MigrationPolicy;
  tcp: TcpParams;
  signalIntervalUs: number;
  /** Resend interval of an unanswered migration message. */
  migrationRetryUs: number;
  /** PREPARE_MIG attempts before the origin abandons the migration. */
  prepareAttempts: number;
  /** Emulated service time per request (0: none); see ServiceQueue. */
  serviceUs: number;
  /**
   * Migrate one connection, chosen at random, this often regardless of load (null: never) — how
   * migration latency is measured, as the paper's Fig. 14 does with deliberate migrations.
   */
  forcedEveryUs: number | null;
  /** Idle time before a connection's client is probed, and the probe interval. */
  keepaliveUs: number;
  /** Differs on every start of this server: its migration numbers start elsewhere, so a restarted origin's are not taken for its predecessor's. */
  incarnation: number;
}

export type MigrationPhase = 'prepare' | 'serialize' | 'transfer' | 'blackout' | 'total';
export type MigrationResult = 'completed' | 'rejected' | 'returned' | 'abandoned' | 'reconnect' | 'lost';
/** Why a server refused a migration message or a segment (`switchyard_capybara_rejected_total{reason}`). */
export type CapybaraRefusal = WireReason | 'buffer-full' | 'stray-segment' | 'unexpected-state' | 'migration-expired' | 'dead-peer' | MigrationRefusal;
/** A migration message naming what it must not (see `ServerCore.invalid`), or a CONN_STATE of another connection than its header's. */
export type MigrationRefusal = 'unknown-client' | 'unknown-origin' | 'not-target' | 'unknown-target' | 'state-mismatch';

export interface ServerObserver {
  requests(count: number): void;
  connections(open: number): void;
  migration(result: MigrationResult, phases: Partial<Record<MigrationPhase, number>> | null, stateBytes: number): void;
  rejected(reason: CapybaraRefusal, detail: string): void;
}

interface Session {
  conn: TcpConnection;
  app: StreamSession;
  /** Requests this interval, and the smoothed rate. */
  count: number;
  rps: number;
  migrating: boolean;
  /** The client closed: close our side once the queued replies are out. */
  closing: boolean;
}

interface Outgoing {
  id: number;
  /** The connection's smoothed request rate when chosen (told to the switch in PREPARE_MIG); null: a forced move. */
  rps: number | null;
  key: number;
  conn: TcpConnection;
  phase: 'preparing' | 'sending' | 'abandoning';
  attempts: number;
  deadline: number;
  target: number;
  fragments: Uint8Array[];
  times: { init: number; ackReceived?: number; stateSent?: number };
}

interface Incoming {
  id: number;
  since: number;
  /** The PREPARE_MIG it answers (origin, client, migration number). */
  header: MigHeader;
  buffered: { packet: TcpPacket; raw: Uint8Array }[];
  state: Fragments;
}

/** How long an origin forwards stray segments of a connection it handed over. */
const FORWARD_US = 200_000;
/** Segments a target holds for one arriving connection; beyond it the oldest go (TCP resends them). */
const BUFFER_LIMIT = 4096;
/** Fragments of one CONN_STATE at most: its header numbers them in 16 bits. */
const MAX_STATE_FRAGMENTS = 0x10000;
const REFUSED_KEPT = 1024;
/** Resend intervals a target waits for an acknowledged migration's CONN_STATE before asking the origin about it. */
const INCOMING_PROBE_RETRIES = 10;

export class ServerCore implements Core<CapybaraMsg> {
  readonly stack: TcpStack;
  private readonly pump: StackPump<CapybaraMsg>;
  readonly sessions = new Map<TcpConnection, Session>();
  private readonly outgoing = new Map<number, Outgoing>();
  private readonly incoming = new Map<number, Incoming>();
  /** Imported migrations (origin:id) → their CONN_STATE_ACK, for a retransmitted CONN_STATE. */
  private readonly imported = new Map<string, { ack: Uint8Array; at: number }>();
  /** Clients whose connection lives elsewhere now (migrated out, or given back): stray segments follow it. */
  private readonly handedOver = new Map<number, { targetIp: number; until: number }>();
  /** Migrations (origin:id) the origin abandoned, the newest REFUSED_KEPT of them. */
  private readonly refused = new LRUCache<string, true>({ max: REFUSED_KEPT });
  private readonly pendingSessions = new Map<TcpConnection, StreamSession>();
  private nextMigration = 1;
  private cooldownUntil = 0;
  private sumRps = 0;
  private ownRps = 0;
  private readonly ip: number;
  private readonly service: ServiceQueue<Session>;
  private serviceArmedAt: number | null = null;
  private retryArmed = false;
  /** The switch incarnation of the last RPS signal. */
  private switchIncarnation: number | null = null;

  constructor(
    readonly params: ServerParams,
    private readonly observer: ServerObserver,
    private readonly random: Random,
  ) {
    this.ip = ipOf(params.id);
    this.stack = new TcpStack(this.ip, params.tcp, random);
    this.service = new ServiceQueue(params.serviceUs);
    this.pump = new StackPump(this.stack, () => params.switchNode, (packet) => ({ kind: 'tcp', packet }));
    this.nextMigration = (params.incarnation * 7919) & 0xffff;
  }

  start(ctx: Ctx<CapybaraMsg>): void {
    this.stack.listen(this.params.servicePort);
    if (this.params.forcedEveryUs !== null && this.params.mode === 'capybara') ctx.setTimer('forced', this.params.forcedEveryUs);
    ctx.setTimer('keepalive', this.params.keepaliveUs);
    this.pump.run(ctx);
  }

  receive(ctx: Ctx<CapybaraMsg>, msg: CapybaraMsg): void {
    if (msg.kind === 'tcp') this.segment(ctx, msg.packet, msg.raw!);
    else if (msg.kind === 'rps') this.signal(ctx, msg.sum, msg.individual, msg.incarnation);
    else if (msg.kind === 'whoHas') this.whoHas(ctx, endpointKey(msg.clientIp, msg.clientPort));
    else if (msg.kind === 'mig') this.migration(ctx, msg.header, msg.payload);
    this.settle(ctx);
  }

  timer(ctx: Ctx<CapybaraMsg>, name: string): void {
    if (name === this.pump.timerName) this.pump.fire(ctx);
    if (name === 'migration') {
      this.retryArmed = false;
      this.retryMigrations(ctx);
    }
    if (name === 'service') this.serviceArmedAt = null;
    if (name === 'forced') this.forceMigration(ctx);
    if (name === 'keepalive') this.keepalive(ctx);
    this.settle(ctx);
  }

  // ---- TCP and the application ---------------------------------------------------------

  private segment(ctx: Ctx<CapybaraMsg>, p: TcpPacket, raw: Uint8Array): void {
    const key = endpointKey(p.srcIp, p.srcPort);
    const inc = this.incoming.get(key);
    if (inc) {
      // The connection is on its way here: hold its segments until it arrives.
      if (inc.buffered.length >= BUFFER_LIMIT) {
        inc.buffered.shift();
        this.observer.rejected('buffer-full', `migration ${inc.id} for ${formatEndpoint(key)} buffered ${BUFFER_LIMIT} segments`);
      }
      inc.buffered.push({ packet: p, raw });
      return;
    }
    if (this.stack.find(p)) {
      this.stack.receive(ctx.now, p);
      return;
    }
    const gone = this.handedOver.get(key);
    if (gone && !(p.flags & SYN)) {
      if (ctx.now < gone.until) {
        rewriteEndpoint(raw, 'dst', gone.targetIp, p.dstPort);
        ctx.send(nodeOfIp(gone.targetIp), { kind: 'tcp', packet: { ...p, dstIp: gone.targetIp }, raw });
        return;
      }
      this.handedOver.delete(key);
    }
    if (!(p.flags & SYN) && (p.payload.length > 0 || p.flags & FIN)) {
      // The stack answers with a reset; a client of a migrating service should never get one.
      // (A bare ACK for a connection closed here is the peer re-acknowledging a FIN: harmless.)
      this.observer.rejected('stray-segment', `segment from ${formatEndpoint(key)} (flags ${p.flags}, seq ${p.seq}, ${p.payload.length} bytes) for no connection${gone ? ', handed over too long ago' : ''}`);
    }
    this.stack.receive(ctx.now, p);
  }

  private settle(ctx: Ctx<CapybaraMsg>): void {
    for (const e of this.stack.events()) this.onEvent(ctx.now, e);
    this.release(ctx);
    this.pump.run(ctx);
  }

  private onEvent(now: number, e: TcpEvent): void {
    if (e.kind === 'accepted') {
      const restored = this.pendingSessions.get(e.conn);
      this.pendingSessions.delete(e.conn);
      this.sessions.set(e.conn, { conn: e.conn, app: restored ?? this.params.app.open(), count: 0, rps: 0, migrating: false, closing: false });
      this.observer.connections(this.sessions.size);
      this.serve(now, e.conn);
      return;
    }
    const s = this.sessions.get(e.conn);
    if (!s) return;
    if (e.kind === 'data') this.serve(now, e.conn);
    else if (e.kind === 'end') {
      this.serve(now, e.conn);
      if (this.service.holds(s)) s.closing = true;
      else e.conn.close();
    } else if (e.kind === 'closed') {
      this.sessions.delete(e.conn);
      this.observer.connections(this.sessions.size);
    }
  }

  /** Executes what the client sent; the replies wait for their emulated service time. */
  private serve(now: number, conn: TcpConnection): void {
    const s = this.sessions.get(conn);
    const input = conn.read();
    if (!s || input.length === 0) return;
    const { reply, requests } = s.app.feed(input);
    s.count += requests;
    this.observer.requests(requests);
    if (reply.length > 0 || requests > 0) this.service.admit(now, s, reply, requests);
  }

  private release(ctx: Ctx<CapybaraMsg>): void {
    for (const { session, reply } of this.service.due(ctx.now)) {
      if (this.sessions.get(session.conn) !== session || session.conn.state === 'CLOSED') continue;
      if (reply.length > 0) session.conn.write(reply);
      if (session.closing && !this.service.holds(session)) session.conn.close();
    }
    const next = this.service.nextAt();
    if (next === this.serviceArmedAt) return;
    this.serviceArmedAt = next;
    if (next === null) ctx.cancelTimer('service');
    else ctx.setTimer('service', next - ctx.now);
  }

  /** Probes connections whose client has been silent; aborts those silent for too long. */
  private keepalive(ctx: Ctx<CapybaraMsg>): void {
    keepAlive(ctx.now, this.params.keepaliveUs, this.sessions.keys(), (conn, silent) => {
      this.observer.rejected('dead-peer', `client ${formatEndpoint(endpointKey(conn.remote.ip, conn.remote.port))} silent for ${silent} µs: connection aborted`);
    });
    ctx.setTimer('keepalive', this.params.keepaliveUs);
  }

  // ---- directory recovery --------------------------------------------------------------

  /** How this server has a client's connection: serving it, or in a migration not finished here. */
  holding(key: number): 'session' | 'migrating' | null {
    if (this.held().includes(key)) return 'session';
    return this.incoming.has(key) || this.outgoing.get(key)?.phase === 'sending' ? 'migrating' : null;
  }

  /** Client ends of the connections held here (a migrating one until its export). */
  private held(): number[] {
    return [...this.sessions.keys()].map((c) => endpointKey(c.remote.ip, c.remote.port));
  }

  private announce(ctx: Ctx<CapybaraMsg>, clients: number[]): void {
    for (let at = 0; at < clients.length; at += MAX_OWNED_PER_MESSAGE) {
      ctx.send(this.params.switchNode, { kind: 'own', serverIp: this.ip, clients: clients.slice(at, at + MAX_OWNED_PER_MESSAGE) });
    }
  }

  private whoHas(ctx: Ctx<CapybaraMsg>, key: number): void {
    const conn = this.stack.lookup(Math.floor(key / 0x1_0000), key % 0x1_0000, this.params.servicePort);
    if (conn && this.sessions.has(conn)) this.announce(ctx, [key]);
  }

  // ---- load signals and the policy -----------------------------------------------------

  private signal(ctx: Ctx<CapybaraMsg>, sum: number, individual: number, incarnation: number): void {
    if (incarnation !== this.switchIncarnation) {
      // A switch that restarted lost its directory: tell it what is held here.
      this.switchIncarnation = incarnation;
      this.announce(ctx, this.held());
    }
    const perSecond = 1e6 / this.params.signalIntervalUs;
    const past = pastWeight(this.params.signalIntervalUs);
    for (const s of this.sessions.values()) {
      s.rps = past * s.rps + (1 - past) * s.count * perSecond;
      s.count = 0;
    }
    this.sumRps = past * this.sumRps + (1 - past) * sum * perSecond;
    this.ownRps = past * this.ownRps + (1 - past) * individual * perSecond;
    if (this.params.mode === 'none' || ctx.now < this.cooldownUntil) return;
    const candidates = [...this.sessions.values()].filter((s) => !s.migrating && s.conn.state === 'ESTABLISHED').map((s) => ({ key: s, rps: s.rps }));
    const chosen = chooseMigrations(this.params.policy, { sumRps: this.sumRps, individualRps: this.ownRps, servers: this.params.servers }, candidates);
    if (chosen.length === 0) return;
    this.cooldownUntil = ctx.now + this.params.policy.cooldownUs;
    // The smoothed rate would remember the shed load for a while; count it gone at once.
    for (const s of chosen) this.ownRps -= s.rps;
    for (const s of chosen) {
      if (this.params.mode === 'reconnect') {
        // The disruptive baseline: cut the client off; it reconnects and the switch places it anew.
        s.conn.abort();
        this.observer.migration('reconnect', null, 0);
      } else {
        this.initiate(ctx, s);
      }
    }
  }

  private forceMigration(ctx: Ctx<CapybaraMsg>): void {
    const candidates = [...this.sessions.values()].filter((s) => !s.migrating && s.conn.state === 'ESTABLISHED');
    if (candidates.length > 0) this.initiate(ctx, candidates[Math.floor(this.random.next() * candidates.length)]!, false);
    ctx.setTimer('forced', this.params.forcedEveryUs!);
  }

  // ---- origin side ---------------------------------------------------------------------

  /** Starts a migration; `judged` ones tell the switch the connection's rate so it can refuse a useless move. */
  private initiate(ctx: Ctx<CapybaraMsg>, s: Session, judged = true): void {
    const key = endpointKey(s.conn.remote.ip, s.conn.remote.port);
    if (this.outgoing.has(key)) return;
    s.migrating = true;
    const out: Outgoing = {
      id: (this.params.id * 0x10000 + (this.nextMigration++ & 0xffff)) >>> 0, rps: judged ? s.rps : null, key, conn: s.conn, phase: 'preparing', attempts: 1,
      deadline: ctx.now + this.params.migrationRetryUs, target: 0, fragments: [], times: { init: ctx.now },
    };
    this.outgoing.set(key, out);
    this.sendPrepare(ctx, out);
    this.armRetry(ctx);
  }

  private header(out: Outgoing, stage: Stage, flags: number, fragment = 0): MigHeader {
    return {
      originIp: this.ip, originPort: this.params.servicePort, clientIp: out.conn.remote.ip, clientPort: out.conn.remote.port,
      fragment, flags, stage, targetIp: out.target, migration: out.id,
    };
  }

  /** PREPARE_MIG carries the connection's rate (u32 requests/s) so the switch can judge the move. */
  private sendPrepare(ctx: Ctx<CapybaraMsg>, out: Outgoing): void {
    const rate = out.rps === null ? new Uint8Array(0) : new Writer(4).u32(Math.min(0xffff_ffff, Math.round(out.rps))).done();
    this.sendVia(ctx, this.params.switchNode, this.header(out, STAGE.prepare, 0), rate);
  }

  private sendVia(ctx: Ctx<CapybaraMsg>, to: NodeId, header: MigHeader, payload: Uint8Array = new Uint8Array(0)): void {
    ctx.send(to, { kind: 'mig', header, payload });
  }

  private prepareAcked(ctx: Ctx<CapybaraMsg>, out: Outgoing, h: MigHeader): void {
    out.target = h.targetIp;
    out.times.ackReceived = ctx.now;
    if (out.conn.state === 'CLOSED') {
      // The client went away meanwhile: nothing to hand over, and the target must let go.
      out.phase = 'abandoning';
      this.sendVia(ctx, this.params.switchNode, this.header(out, STAGE.rejected, FLAG_LOAD));
      return;
    }
    const session = this.sessions.get(out.conn);
    if (session) {
      // Replies still waiting for their service time leave with the connection, in order.
      for (const reply of this.service.takeFor(session)) if (reply.length > 0) out.conn.write(reply);
      if (session.closing) out.conn.close();
    }
    const tcp = encodeTcpState(this.stack.exportConnection(ctx.now, out.conn));
    const app = session ? session.app.exportState() : new Uint8Array(0);
    this.sessions.delete(out.conn);
    this.observer.connections(this.sessions.size);
    const state = new Writer(8 + tcp.length + app.length).u32(tcp.length).raw(tcp).u32(app.length).raw(app).done();
    out.fragments = [];
    for (let at = 0; at < state.length || out.fragments.length === 0; at += MAX_FRAGMENT) out.fragments.push(state.subarray(at, at + MAX_FRAGMENT));
    out.phase = 'sending';
    out.attempts = 1;
    this.handedOver.set(out.key, { targetIp: out.target, until: Number.MAX_SAFE_INTEGER });
    this.sendState(ctx, out);
    out.times.stateSent = ctx.now;
  }

  private sendState(ctx: Ctx<CapybaraMsg>, out: Outgoing): void {
    const target = nodeOfIp(out.target);
    out.fragments.forEach((f, i) => {
      const more = i < out.fragments.length - 1 ? FLAG_NEXT_FRAGMENT : 0;
      this.sendVia(ctx, target, this.header(out, STAGE.connState, more, i), f);
    });
    out.deadline = ctx.now + this.params.migrationRetryUs;
    this.armRetry(ctx);
  }

  private stateAcked(ctx: Ctx<CapybaraMsg>, out: Outgoing, payload: Uint8Array): void {
    this.outgoing.delete(out.key);
    this.handedOver.set(out.key, { targetIp: out.target, until: ctx.now + FORWARD_US });
    let accepted: number | null = null;
    if (payload.length === 8) {
      try {
        accepted = new Reader(payload).u64('accepted at');
      } catch (err) {
        // The move is done either way; only the blackout's end is unknown.
        if (!(err instanceof WireError)) throw err;
        this.observer.rejected(err.reason, `CONN_STATE_ACK of migration ${out.id}: ${err.message}`);
      }
    }
    const t = out.times;
    const phases: Partial<Record<MigrationPhase, number>> = {
      prepare: (t.ackReceived! - t.init) / 1e6,
      serialize: (t.stateSent! - t.ackReceived!) / 1e6,
      total: (ctx.now - t.init) / 1e6,
    };
    // The blackout spans two hosts' clocks (one clock on loopback and in simulation).
    if (accepted !== null) {
      phases.transfer = Math.max(0, accepted - t.stateSent!) / 1e6;
      phases.blackout = Math.max(0, accepted - t.ackReceived!) / 1e6;
    }
    this.observer.migration('completed', phases, out.fragments.reduce((n, f) => n + f.length, 0));
  }

  /** Ends an attempt before the export: the connection stays here. */
  private cancel(out: Outgoing, result: MigrationResult): void {
    this.outgoing.delete(out.key);
    const s = this.sessions.get(out.conn);
    if (s) s.migrating = false;
    this.observer.migration(result, null, 0);
  }

  private lost(ctx: Ctx<CapybaraMsg>, out: Outgoing): void {
    this.outgoing.delete(out.key);
    this.handedOver.set(out.key, { targetIp: out.target, until: ctx.now + FORWARD_US });
    this.observer.migration('lost', null, 0);
  }

  private retryMigrations(ctx: Ctx<CapybaraMsg>): void {
    for (const out of [...this.outgoing.values()]) {
      if (ctx.now < out.deadline) continue;
      out.deadline = ctx.now + this.params.migrationRetryUs;
      if (out.phase === 'sending') {
        this.sendState(ctx, out);
      } else if (out.phase === 'preparing' && out.attempts < this.params.prepareAttempts) {
        out.attempts++;
        this.sendPrepare(ctx, out);
      } else {
        // Give the attempt up: the switch points the client back here and the target lets go.
        out.phase = 'abandoning';
        this.sendVia(ctx, this.params.switchNode, this.header(out, STAGE.rejected, FLAG_LOAD));
      }
    }
    for (const [key, done] of this.imported) if (ctx.now - done.at > FORWARD_US) this.imported.delete(key);
    for (const inc of this.incoming.values()) {
      if (ctx.now - inc.since < INCOMING_PROBE_RETRIES * this.params.migrationRetryUs) continue;
      this.sendVia(ctx, nodeOfIp(inc.header.originIp), { ...inc.header, stage: STAGE.prepareAck, flags: FLAG_UNKNOWN, targetIp: this.ip, fragment: 0 });
    }
    this.armRetry(ctx);
  }

  /** Arms the resend timer unless it is armed: re-arming on every new attempt would put it off for good under frequent migrations. */
  private armRetry(ctx: Ctx<CapybaraMsg>): void {
    if (this.retryArmed || (this.outgoing.size === 0 && this.imported.size === 0 && this.incoming.size === 0)) return;
    this.retryArmed = true;
    ctx.setTimer('migration', this.params.migrationRetryUs);
  }

  // ---- target side ---------------------------------------------------------------------

  private migration(ctx: Ctx<CapybaraMsg>, h: MigHeader, payload: Uint8Array): void {
    const key = endpointKey(h.clientIp, h.clientPort);
    const mine = h.originIp === this.ip;
    const refusal = this.invalid(h, mine);
    if (refusal) {
      this.observer.rejected(refusal, `${stageName(h.stage)} of migration ${h.migration} for ${formatEndpoint(key)} from origin ${formatIp(h.originIp)} (target ${formatIp(h.targetIp)})`);
      return;
    }
    const out = mine ? this.outgoing.get(key) : undefined;
    const current = out && out.id === h.migration ? out : undefined;
    switch (h.stage) {
      case STAGE.prepare:
        this.prepareHere(ctx, key, h);
        return;
      case STAGE.prepareAck:
        if (h.flags & FLAG_UNKNOWN) {
          // A target asking whether this migration is still on: not if it is not ours any more.
          if (mine && !current) this.sendVia(ctx, nodeOfIp(h.targetIp), { ...h, stage: STAGE.rejected, flags: FLAG_UNKNOWN });
          return;
        }
        if (current?.phase === 'preparing') this.prepareAcked(ctx, current, h);
        return;
      case STAGE.connState:
        this.stateFragment(ctx, key, h, payload);
        return;
      case STAGE.connStateAck:
        if (current?.phase === 'sending') this.stateAcked(ctx, current, payload);
        return;
      case STAGE.rejected:
        if (h.flags & FLAG_UNKNOWN) {
          // To an origin: the target restarted and lost the state it was sent, the connection is gone.
          // To a target: the origin no longer migrates this connection, the wait is over.
          if (mine && current?.phase === 'sending') this.lost(ctx, current);
          if (!mine && this.incoming.get(key)?.id === h.migration) {
            this.observer.rejected('migration-expired', `migration ${h.migration} for ${formatEndpoint(key)}: its origin no longer sends it`);
            this.abandonedHere(ctx, key, h);
          }
          return;
        }
        if (mine && !(h.flags & FLAG_LOAD)) {
          // Returned by the switch, refused by the target, or the target confirming an abandonment.
          if (current && current.phase !== 'sending') this.cancel(current, current.phase === 'abandoning' ? 'abandoned' : h.targetIp === 0 ? 'returned' : 'rejected');
          return;
        }
        this.abandonedHere(ctx, key, h);
    }
  }

  /**
   * Why a migration message names something it must not, or null: a client that is no client, an
   * origin that is no other server (this server sends it CONN_STATE_ACKs and buffered segments),
   * a PREPARE_MIG the switch did not address to this server, or an acknowledgement pointing this
   * server's own migration at a target that is no other server.
   */
  private invalid(h: MigHeader, mine: boolean): MigrationRefusal | null {
    if (!isClientIp(h.clientIp, this.params.clients)) return 'unknown-client';
    if (!mine && !isServerIp(h.originIp, this.params.servers)) return 'unknown-origin';
    if (h.stage === STAGE.prepare && (mine || h.targetIp !== this.ip)) return 'not-target';
    if (mine && h.stage === STAGE.prepareAck && (h.targetIp === this.ip || !isServerIp(h.targetIp, this.params.servers))) return 'unknown-target';
    return null;
  }

  private prepareHere(ctx: Ctx<CapybaraMsg>, key: number, h: MigHeader): void {
    const reply = (stage: Stage, flags: number) => this.sendVia(ctx, this.params.switchNode, { ...h, stage, flags, fragment: 0 });
    const existing = this.incoming.get(key);
    if (existing && existing.id === h.migration) {
      reply(STAGE.prepareAck, FLAG_LOAD); // our ACK was lost
      return;
    }
    const busy = existing || this.refused.has(`${h.originIp}:${h.migration}`) || this.stack.lookup(h.clientIp, h.clientPort, this.params.servicePort);
    if (busy || this.params.mode !== 'capybara') {
      reply(STAGE.rejected, 0);
      return;
    }
    this.incoming.set(key, { id: h.migration, since: ctx.now, header: h, buffered: [], state: new Fragments(MAX_STATE_FRAGMENTS) });
    reply(STAGE.prepareAck, FLAG_LOAD);
    this.armRetry(ctx);
  }

  private stateFragment(ctx: Ctx<CapybaraMsg>, key: number, h: MigHeader, payload: Uint8Array): void {
    const origin = nodeOfIp(h.originIp);
    const done = this.imported.get(`${h.originIp}:${h.migration}`);
    if (done) {
      this.sendVia(ctx, origin, { ...h, stage: STAGE.connStateAck, flags: 0, fragment: 0 }, done.ack);
      return;
    }
    const inc = this.incoming.get(key);
    if (!inc || inc.id !== h.migration) {
      this.observer.rejected('unexpected-state', `CONN_STATE of migration ${h.migration} for ${formatEndpoint(key)} without a PREPARE_MIG`);
      // Not expecting it (this server restarted since it acknowledged the PREPARE_MIG): the origin must know.
      if (!inc) this.sendVia(ctx, origin, { ...h, stage: STAGE.rejected, flags: FLAG_UNKNOWN, fragment: 0 });
      return;
    }
    let whole: Uint8Array | null;
    try {
      whole = inc.state.add(h.fragment, payload, !(h.flags & FLAG_NEXT_FRAGMENT));
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.observer.rejected(e.reason, `CONN_STATE fragment of migration ${h.migration}: ${e.message}`);
      inc.state = new Fragments(MAX_STATE_FRAGMENTS);
      return;
    }
    if (!whole) return;
    const opened = this.openState(whole, h);
    if ('refusal' in opened) {
      this.observer.rejected(opened.refusal, `CONN_STATE of migration ${h.migration}: ${opened.detail}`);
      inc.state = new Fragments(MAX_STATE_FRAGMENTS);
      return;
    }
    this.pendingSessions.set(this.stack.importConnection(ctx.now, opened.tcp), opened.session);
    this.incoming.delete(key);
    this.handedOver.delete(key); // it may be coming back
    for (const e of this.stack.events()) this.onEvent(ctx.now, e);
    const ack = new Writer(8).u64(ctx.now).done();
    this.imported.set(`${h.originIp}:${h.migration}`, { ack, at: ctx.now });
    this.sendVia(ctx, origin, { ...h, stage: STAGE.connStateAck, flags: 0, fragment: 0 }, ack);
    // Replay what arrived while the connection was on its way.
    for (const b of inc.buffered) this.stack.receive(ctx.now, b.packet);
    this.armRetry(ctx);
  }

  /** A whole CONN_STATE's connection and session, or why it is refused: malformed, or not the connection its header names on the service port. */
  private openState(whole: Uint8Array, h: MigHeader): { tcp: TcpControlBlockState; session: StreamSession } | { refusal: CapybaraRefusal; detail: string } {
    let tcp: TcpControlBlockState;
    let session: StreamSession;
    try {
      const r = new Reader(whole);
      tcp = decodeTcpState(r.bytesOf(r.u32('tcp state length'), 'tcp state'));
      session = this.params.app.restore(r.bytesOf(r.u32('app state length'), 'app state'));
      r.end('CONN_STATE');
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      return { refusal: err.reason, detail: err.message };
    }
    if (tcp.remote.ip !== h.clientIp || tcp.remote.port !== h.clientPort || tcp.local.port !== this.params.servicePort) {
      return { refusal: 'state-mismatch', detail: `the state is of connection ${formatIp(tcp.remote.ip)}:${tcp.remote.port} → port ${tcp.local.port}, not the one the header names` };
    }
    return { tcp, session };
  }

  /** The origin abandoned an attempt: let go of it and hand back anything buffered. */
  private abandonedHere(ctx: Ctx<CapybaraMsg>, key: number, h: MigHeader): void {
    this.refused.set(`${h.originIp}:${h.migration}`, true);
    const inc = this.incoming.get(key);
    if (inc && inc.id === h.migration) {
      this.incoming.delete(key);
      // Segments the switch sent here before it pointed the client back are still on their way.
      this.handedOver.set(key, { targetIp: h.originIp, until: ctx.now + FORWARD_US });
      for (const { packet, raw } of inc.buffered) {
        rewriteEndpoint(raw, 'dst', h.originIp, h.originPort);
        ctx.send(nodeOfIp(h.originIp), { kind: 'tcp', packet: { ...packet, dstIp: h.originIp }, raw });
      }
    }
    this.sendVia(ctx, this.params.switchNode, { ...h, stage: STAGE.rejected, flags: 0, fragment: 0 });
  }
}

const STAGE_NAMES: Record<Stage, string> = {
  [STAGE.rejected]: 'REJECTED', [STAGE.prepare]: 'PREPARE_MIG', [STAGE.prepareAck]: 'PREPARE_MIG_ACK',
  [STAGE.connState]: 'CONN_STATE', [STAGE.connStateAck]: 'CONN_STATE_ACK',
};
const stageName = (stage: Stage): string => STAGE_NAMES[stage];
