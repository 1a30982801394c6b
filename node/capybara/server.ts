import type { Core, Ctx, NodeId, Random, WireReason } from '../runtime/core.js';
import type { StreamApp, StreamSession } from './app/session.js';
import { type CapybaraMsg, FLAG_LOAD, FLAG_UNKNOWN, MAX_OWNED_PER_MESSAGE, type MigHeader, STAGE, type Stage } from './messages.js';
import { MigrationOrigin } from './migration-origin.js';
import { MigrationTarget } from './migration-target.js';
import { type Cooldowns, type MigrationMode, type MigrationPolicy, type ServerLoad, type Trigger, arrivalTimeConstantUs, decide, pastWeight } from './policy.js';
import type { TcpConnection, TcpControlBlockState, TcpEvent } from './tcp/connection.js';
import { FIN, SYN, type TcpPacket, rewriteEndpoint } from './tcp/packet.js';
import type { TcpParams } from './tcp/params.js';
import { keepAlive } from './tcp/keepalive.js';
import { StackPump } from './tcp/pump.js';
import { TcpStack } from './tcp/stack.js';
import { encodeTcpState } from './tcp/state-codec.js';
import { ServiceQueue, type Waiting } from './service-queue.js';
import { encodeConnState } from './conn-state.js';
import { endpointKey, formatEndpoint, formatIp, ipOf, isClientIp, isServerIp, nodeOfIp } from './topology.js';

/**
 * A Capybara backend: the userspace TCP stack, the application's sessions, per-connection request
 * rates, the migration policy, and the migration messages handed to their side of the protocol
 * (docs/capybara.md#tcpmig-phases): migration-origin.ts and migration-target.ts.
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

export type { MigrationMode } from './policy.js';

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
  /** PREPARE_MIG sends, each waiting twice as long as the one before (bounded), before the origin abandons the migration. */
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
  /** The policy chose `connections` connections to move (or, under `reconnect`, to reset), by this half of it. */
  decided(trigger: Trigger, connections: number): void;
  rejected(reason: CapybaraRefusal, detail: string): void;
}

export interface Session {
  conn: TcpConnection;
  app: StreamSession;
  /** Requests this interval, and the smoothed rate. */
  count: number;
  rps: number;
  migrating: boolean;
  /** The client closed: close our side once the queued replies are out. */
  closing: boolean;
}

export class ServerCore implements Core<CapybaraMsg> {
  readonly stack: TcpStack;
  private readonly pump: StackPump<CapybaraMsg>;
  readonly sessions = new Map<TcpConnection, Session>();
  /** Clients whose connection lives elsewhere now (migrated out, or given back): stray segments follow it. */
  readonly handedOver = new Map<number, { targetIp: number; until: number }>();
  /** Connections imported and not accepted yet: their session, its requests waiting for service, whether the client had finished. */
  private readonly pendingSessions = new Map<TcpConnection, Arrived>();
  private cooldowns: Cooldowns = { rateUntil: 0, queueUntil: 0 };
  private sumRps = 0;
  private ownRps = 0;
  /** Requests that arrived here this signal interval, and their smoothed rate. */
  private arrivals = 0;
  private arrivalRps = 0;
  private lastSignalAt: number | null = null;
  readonly ip: number;
  private readonly service: ServiceQueue<Session>;
  private readonly origin: MigrationOrigin;
  private readonly target: MigrationTarget;
  private serviceArmedAt: number | null = null;
  private retryArmed = false;
  /** What the policy last saw (null: no signal yet). */
  lastLoad: ServerLoad | null = null;
  /** The switch incarnation of the last RPS signal. */
  private switchIncarnation: number | null = null;

  constructor(
    readonly params: ServerParams,
    readonly observer: ServerObserver,
    private readonly random: Random,
  ) {
    this.ip = ipOf(params.id);
    this.stack = new TcpStack(this.ip, params.tcp, random);
    this.service = new ServiceQueue(params.serviceUs);
    this.pump = new StackPump(this.stack, () => params.switchNode, (packet) => ({ kind: 'tcp', packet }));
    this.origin = new MigrationOrigin(this);
    this.target = new MigrationTarget(this);
  }

  start(ctx: Ctx<CapybaraMsg>): void {
    this.stack.listen(this.params.servicePort);
    if (this.params.forcedEveryUs !== null && migrates(this.params.mode)) ctx.setTimer('forced', this.params.forcedEveryUs);
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
      this.origin.retry(ctx);
      this.target.retry(ctx);
      this.armRetry(ctx);
    }
    if (name === 'service') this.serviceArmedAt = null;
    if (name === 'forced') this.forceMigration(ctx);
    if (name === 'keepalive') this.keepalive(ctx);
    this.settle(ctx);
  }

  // ---- TCP and the application ---------------------------------------------------------

  private segment(ctx: Ctx<CapybaraMsg>, p: TcpPacket, raw: Uint8Array): void {
    const key = endpointKey(p.srcIp, p.srcPort);
    // A connection on its way here: its segments wait until it arrives.
    if (this.target.hold(key, p, raw)) return;
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
      const arrived = this.pendingSessions.get(e.conn);
      this.pendingSessions.delete(e.conn);
      const s: Session = { conn: e.conn, app: arrived?.app ?? this.params.app.open(), count: 0, rps: 0, migrating: false, closing: arrived?.closing ?? false };
      this.sessions.set(e.conn, s);
      // The origin's unserved requests are served here, ahead of anything the client sends next.
      for (const w of arrived?.waiting ?? []) this.service.admit(now, s, w.reply, w.requests, true);
      if (s.closing && !this.service.holds(s)) e.conn.close();
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
    this.arrivals += requests;
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
    return this.target.arriving(key) || this.origin.sending(key) ? 'migrating' : null;
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
    const smooth = (was: number, count: number) => past * was + (1 - past) * count * perSecond;
    this.sumRps = smooth(this.sumRps, sum);
    this.ownRps = smooth(this.ownRps, individual);
    // What this server counts itself is a rate over the time since the last signal: a signal
    // held up (a busy switch or machine) would otherwise pass off its backlog as one interval's.
    const elapsed = this.lastSignalAt === null ? this.params.signalIntervalUs : Math.max(1, ctx.now - this.lastSignalAt);
    this.lastSignalAt = ctx.now;
    const mine = pastWeight(elapsed);
    for (const s of this.sessions.values()) {
      s.rps = mine * s.rps + (1 - mine) * (s.count * 1e6) / elapsed;
      s.count = 0;
    }
    const capacityRps = this.params.serviceUs > 0 ? 1e6 / this.params.serviceUs : null;
    const pastArrivals = pastWeight(elapsed, arrivalTimeConstantUs(capacityRps));
    this.arrivalRps = pastArrivals * this.arrivalRps + (1 - pastArrivals) * (this.arrivals * 1e6) / elapsed;
    this.arrivals = 0;
    if (this.params.mode === 'lwrr') return;
    this.release(ctx); // the queue as of now
    const candidates = [...this.sessions.values()].filter((s) => !s.migrating && s.conn.state === 'ESTABLISHED')
      .map((s) => ({ key: s, rps: s.rps, queued: this.service.received(s) }));
    const load: ServerLoad = this.lastLoad = {
      sumRps: this.sumRps, individualRps: this.ownRps, servers: this.params.servers, arrivalRps: this.arrivalRps,
      capacityRps, queue: this.service.receivedLength,
    };
    const { keys: chosen, trigger, cooldowns } = decide(this.params.mode, this.params.policy, load, candidates, ctx.now, this.cooldowns);
    this.cooldowns = cooldowns;
    if (trigger === null) return;
    this.observer.decided(trigger, chosen.length);
    // The smoothed rate would remember the shed load for a while; count it gone at once.
    for (const s of chosen) this.ownRps -= s.rps;
    for (const s of chosen) {
      if (this.params.mode === 'reconnect') {
        // The disruptive baseline: cut the client off; it reconnects, the switch places it anew,
        // and its session (the keyspace) is gone with the connection.
        s.conn.abort();
        this.observer.migration('reconnect', null, 0);
      } else {
        // The reactive baseline knows queues, not rates: its moves go to the least-loaded server unjudged.
        this.origin.initiate(ctx, s, this.params.mode === 'capybara');
      }
    }
  }

  private forceMigration(ctx: Ctx<CapybaraMsg>): void {
    const candidates = [...this.sessions.values()].filter((s) => !s.migrating && s.conn.state === 'ESTABLISHED');
    if (candidates.length > 0) this.origin.initiate(ctx, candidates[Math.floor(this.random.next() * candidates.length)]!, false);
    ctx.setTimer('forced', this.params.forcedEveryUs!);
  }

  // ---- migration messages: each to its side ----------------------------------------------

  private migration(ctx: Ctx<CapybaraMsg>, h: MigHeader, payload: Uint8Array): void {
    const key = endpointKey(h.clientIp, h.clientPort);
    const mine = h.originIp === this.ip;
    const refusal = this.invalid(h, mine);
    if (refusal) {
      this.observer.rejected(refusal, `${stageName(h.stage)} of migration ${h.migration} for ${formatEndpoint(key)} from origin ${formatIp(h.originIp)} (target ${formatIp(h.targetIp)})`);
      return;
    }
    const current = mine ? this.origin.current(key, h.migration) : undefined;
    switch (h.stage) {
      case STAGE.prepare:
        this.target.prepareHere(ctx, key, h);
        return;
      case STAGE.prepareAck:
        if (h.flags & FLAG_UNKNOWN) {
          // A target asking whether this migration is still on: not if it is not ours any more.
          if (mine && !current) this.sendVia(ctx, nodeOfIp(h.targetIp), { ...h, stage: STAGE.rejected, flags: FLAG_UNKNOWN });
          return;
        }
        if (current?.phase === 'preparing') this.origin.prepareAcked(ctx, current, h);
        return;
      case STAGE.connState:
        this.target.stateFragment(ctx, key, h, payload);
        return;
      case STAGE.connStateAck:
        if (current?.phase === 'sending') this.origin.stateAcked(ctx, current, payload);
        return;
      case STAGE.rejected:
        if (h.flags & FLAG_UNKNOWN) {
          // To an origin: the target restarted and lost the state it was sent, the connection is gone.
          // To a target: the origin no longer migrates this connection, the wait is over.
          if (mine && current?.phase === 'sending') this.origin.lost(ctx, current);
          if (!mine && this.target.awaits(key, h.migration)) {
            this.observer.rejected('migration-expired', `migration ${h.migration} for ${formatEndpoint(key)}: its origin no longer sends it`);
            this.target.abandonedHere(ctx, key, h);
          }
          return;
        }
        if (mine && !(h.flags & FLAG_LOAD)) {
          // Returned by the switch, refused by the target, or the target confirming an abandonment.
          if (current && current.phase !== 'sending') this.origin.cancel(current, current.phase === 'abandoning' ? 'abandoned' : h.targetIp === 0 ? 'returned' : 'rejected');
          return;
        }
        this.target.abandonedHere(ctx, key, h);
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

  sendVia(ctx: Ctx<CapybaraMsg>, to: NodeId, header: MigHeader, payload: Uint8Array = new Uint8Array(0)): void {
    ctx.send(to, { kind: 'mig', header, payload });
  }

  /** Arms the resend timer unless it is armed: re-arming on every new attempt would put it off for good under frequent migrations. */
  armRetry(ctx: Ctx<CapybaraMsg>): void {
    if (this.retryArmed || (this.origin.size === 0 && this.target.size === 0)) return;
    this.retryArmed = true;
    ctx.setTimer('migration', this.params.migrationRetryUs);
  }

  /**
   * Hands a connection over (the origin, on PREPARE_MIG_ACK): it leaves the stack and the
   * sessions; returns its CONN_STATE (conn-state.ts): the TCP state, the application session,
   * whether the client had finished, and its requests still waiting for service with their
   * replies, which the target serves — the queued work moves with the connection, as unread bytes
   * in Capybara's receive queue do.
   */
  exportConnection(ctx: Ctx<CapybaraMsg>, conn: TcpConnection): Uint8Array {
    const session = this.sessions.get(conn);
    const waiting = session ? this.service.takeFor(ctx.now, session) : [];
    const tcp = encodeTcpState(this.stack.exportConnection(ctx.now, conn));
    const app = session ? session.app.exportState() : new Uint8Array(0);
    this.sessions.delete(conn);
    this.observer.connections(this.sessions.size);
    return encodeConnState({ tcp, app, closing: session?.closing ?? false, waiting });
  }

  /** Takes an arrived connection (the target, on a whole CONN_STATE) into the stack with its session and unserved requests. */
  importConnection(ctx: Ctx<CapybaraMsg>, key: number, tcp: TcpControlBlockState, arrived: Arrived): void {
    this.pendingSessions.set(this.stack.importConnection(ctx.now, tcp), arrived);
    this.handedOver.delete(key); // it may be coming back
    for (const e of this.stack.events()) this.onEvent(ctx.now, e);
  }
}

/** What a CONN_STATE brings besides the TCP state. */
export interface Arrived {
  app: StreamSession;
  /** Requests the origin had not served yet, with their replies, in order. */
  waiting: Waiting[];
  /** The client had finished: close once those replies are out. */
  closing: boolean;
}

/** Whether a mode moves connections live (the target side accepts them only then). */
export const migrates = (mode: MigrationMode): boolean => mode === 'capybara' || mode === 'reactive';

const STAGE_NAMES: Record<Stage, string> = {
  [STAGE.rejected]: 'REJECTED', [STAGE.prepare]: 'PREPARE_MIG', [STAGE.prepareAck]: 'PREPARE_MIG_ACK',
  [STAGE.connState]: 'CONN_STATE', [STAGE.connStateAck]: 'CONN_STATE_ACK',
};
const stageName = (stage: Stage): string => STAGE_NAMES[stage];
