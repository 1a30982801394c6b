import type { Ctx } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { Reader, Writer } from '../runtime/wire.js';
import { MAX_FRAGMENT } from './codec.js';
import { type CapybaraMsg, FLAG_LOAD, FLAG_NEXT_FRAGMENT, type MigHeader, STAGE, type Stage } from './messages.js';
import type { MigrationPhase, MigrationResult, ServerCore, Session } from './server.js';
import type { TcpConnection } from './tcp/connection.js';
import { endpointKey, nodeOfIp } from './topology.js';

/** A migration this server started, until the target acknowledges the connection's state or the attempt ends. */
export interface Outgoing {
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

/** How long an origin forwards stray segments of a connection it handed over. */
export const FORWARD_US = 200_000;

/**
 * Resends of a migration message back off: each waits twice as long as the one before, at most
 * this many resend intervals (TCP's RTO backoff, RFC 6298 §5.5). With a fixed interval a switch
 * slower than PREPARE_ATTEMPTS intervals made the origin abandon every migration (0 of 952
 * completed on a busy 2-core machine); now it only delays them.
 */
export const MAX_BACKOFF = 16;
/** PREPARE_MIG sends before the origin abandons: with the backoff, 47 resend intervals (94 ms at the default 2 ms). */
export const PREPARE_ATTEMPTS = 6;

/**
 * A CONN_STATE's resend waits, besides the resend interval, twice the time its fragments are
 * expected to take to arrive and be taken in: µs per fragment, smoothed over the migrations this
 * server completed at the first send (Karn's rule: a resent one's time is ambiguous; RFC 6298 §3),
 * starting from this guess. A fixed 2 ms resent a 128 KiB state's 90 fragments before the target
 * had read the first set: each resend delayed the next migrations' messages, more of them timed
 * out and were resent (26 of 177 migrations completed in 4 s, 19.9k stray fragments refused).
 */
export const INITIAL_FRAGMENT_US = 100;

/**
 * The origin side of a migration (docs/capybara.md#tcpmig-phases): INIT_MIG → PREPARE_MIG to the
 * switch (which picks the target) → on PREPARE_MIG_ACK the connection is exported with its
 * application session and sent as CONN_STATE fragments, resent until CONN_STATE_ACK. Until the
 * ACK the origin may abandon the attempt (a REJECTED with LOAD, resent until the target
 * confirms), so the connection is always served by exactly one side.
 */
export class MigrationOrigin {
  private readonly outgoing = new Map<number, Outgoing>();
  private nextMigration: number;
  /** Smoothed time from sending a CONN_STATE to its ACK, per fragment (µs). */
  private fragmentUs = INITIAL_FRAGMENT_US;

  constructor(private readonly s: ServerCore) {
    this.nextMigration = (s.params.incarnation * 7919) & 0xffff;
  }

  get size(): number {
    return this.outgoing.size;
  }

  /** The migration of a client's connection under way here, if its number is `id`. */
  current(key: number, id: number): Outgoing | undefined {
    const out = this.outgoing.get(key);
    return out && out.id === id ? out : undefined;
  }

  /** Whether the connection of a client is being exported from here (sent, not yet acknowledged). */
  sending(key: number): boolean {
    return this.outgoing.get(key)?.phase === 'sending';
  }

  /** Starts a migration; `judged` ones tell the switch the connection's rate so it can refuse a useless move. */
  initiate(ctx: Ctx<CapybaraMsg>, session: Session, judged = true): void {
    const key = endpointKey(session.conn.remote.ip, session.conn.remote.port);
    if (this.outgoing.has(key)) return;
    session.migrating = true;
    const out: Outgoing = {
      id: (this.s.params.id * 0x10000 + (this.nextMigration++ & 0xffff)) >>> 0, rps: judged ? session.rps : null, key, conn: session.conn, phase: 'preparing', attempts: 1,
      deadline: ctx.now + this.wait(1), target: 0, fragments: [], times: { init: ctx.now },
    };
    this.outgoing.set(key, out);
    this.sendPrepare(ctx, out);
    this.s.armRetry(ctx);
  }

  private header(out: Outgoing, stage: Stage, flags: number, fragment = 0): MigHeader {
    return {
      originIp: this.s.ip, originPort: this.s.params.servicePort, clientIp: out.conn.remote.ip, clientPort: out.conn.remote.port,
      fragment, flags, stage, targetIp: out.target, migration: out.id,
    };
  }

  /** PREPARE_MIG carries the connection's rate (u32 requests/s) so the switch can judge the move. */
  private sendPrepare(ctx: Ctx<CapybaraMsg>, out: Outgoing): void {
    const rate = out.rps === null ? new Uint8Array(0) : new Writer(4).u32(Math.min(0xffff_ffff, Math.round(out.rps))).done();
    this.s.sendVia(ctx, this.s.params.switchNode, this.header(out, STAGE.prepare, 0), rate);
  }

  prepareAcked(ctx: Ctx<CapybaraMsg>, out: Outgoing, h: MigHeader): void {
    out.target = h.targetIp;
    out.times.ackReceived = ctx.now;
    if (out.conn.state === 'CLOSED') {
      // The client went away meanwhile: nothing to hand over, and the target must let go.
      out.phase = 'abandoning';
      this.s.sendVia(ctx, this.s.params.switchNode, this.header(out, STAGE.rejected, FLAG_LOAD));
      return;
    }
    const state = this.s.exportConnection(ctx, out.conn);
    out.fragments = [];
    for (let at = 0; at < state.length || out.fragments.length === 0; at += MAX_FRAGMENT) out.fragments.push(state.subarray(at, at + MAX_FRAGMENT));
    out.phase = 'sending';
    out.attempts = 1;
    out.deadline = ctx.now + this.stateWait(out);
    this.s.handedOver.set(out.key, { targetIp: out.target, until: Number.MAX_SAFE_INTEGER });
    this.sendState(ctx, out);
    out.times.stateSent = ctx.now;
  }

  private sendState(ctx: Ctx<CapybaraMsg>, out: Outgoing): void {
    const target = nodeOfIp(out.target);
    out.fragments.forEach((f, i) => {
      const more = i < out.fragments.length - 1 ? FLAG_NEXT_FRAGMENT : 0;
      this.s.sendVia(ctx, target, this.header(out, STAGE.connState, more, i), f);
    });
    this.s.armRetry(ctx);
  }

  stateAcked(ctx: Ctx<CapybaraMsg>, out: Outgoing, payload: Uint8Array): void {
    this.outgoing.delete(out.key);
    if (out.attempts === 1) this.fragmentUs += ((ctx.now - out.times.stateSent!) / out.fragments.length - this.fragmentUs) / 8;
    this.s.handedOver.set(out.key, { targetIp: out.target, until: ctx.now + FORWARD_US });
    let accepted: number | null = null;
    if (payload.length === 8) {
      try {
        accepted = new Reader(payload).u64('accepted at');
      } catch (err) {
        // The move is done either way; only the blackout's end is unknown.
        if (!(err instanceof WireError)) throw err;
        this.s.observer.rejected(err.reason, `CONN_STATE_ACK of migration ${out.id}: ${err.message}`);
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
    this.s.observer.migration('completed', phases, out.fragments.reduce((n, f) => n + f.length, 0));
  }

  /** Ends an attempt before the export: the connection stays here. */
  cancel(out: Outgoing, result: MigrationResult): void {
    this.outgoing.delete(out.key);
    const session = this.s.sessions.get(out.conn);
    if (session) session.migrating = false;
    this.s.observer.migration(result, null, 0);
  }

  /** The target restarted and lost the state it was sent: the connection is gone. */
  lost(ctx: Ctx<CapybaraMsg>, out: Outgoing): void {
    this.outgoing.delete(out.key);
    this.s.handedOver.set(out.key, { targetIp: out.target, until: ctx.now + FORWARD_US });
    this.s.observer.migration('lost', null, 0);
  }

  /** How long the `attempts`-th send of a message waits for its answer. */
  private wait(attempts: number): number {
    return this.s.params.migrationRetryUs * Math.min(2 ** (attempts - 1), MAX_BACKOFF);
  }

  /** How long the current send of a CONN_STATE waits for its ACK: the resend interval, backed off, and the time its fragments take, twice. */
  private stateWait(out: Outgoing): number {
    return this.wait(out.attempts) + 2 * this.fragmentUs * out.fragments.length;
  }

  /** Resends what is due, backing off: the state, or PREPARE_MIG until its attempts run out; then the attempt is given up. */
  retry(ctx: Ctx<CapybaraMsg>): void {
    for (const out of [...this.outgoing.values()]) {
      if (ctx.now < out.deadline) continue;
      if (out.phase === 'preparing' && out.attempts >= this.s.params.prepareAttempts) {
        // Give the attempt up: the switch points the client back here and the target lets go.
        out.phase = 'abandoning';
        out.attempts = 0;
      }
      out.attempts++;
      out.deadline = ctx.now + (out.phase === 'sending' ? this.stateWait(out) : this.wait(out.attempts));
      if (out.phase === 'sending') this.sendState(ctx, out);
      else if (out.phase === 'preparing') this.sendPrepare(ctx, out);
      else this.s.sendVia(ctx, this.s.params.switchNode, this.header(out, STAGE.rejected, FLAG_LOAD));
    }
  }
}
