import { LRUCache } from 'lru-cache';
import type { Ctx } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { Fragments } from '../protocol/reassembly.js';
import { Writer } from '../runtime/wire.js';
import { type CapybaraMsg, FLAG_LOAD, FLAG_NEXT_FRAGMENT, FLAG_UNKNOWN, type MigHeader, STAGE, type Stage } from './messages.js';
import { FORWARD_US } from './migration-origin.js';
import { type Arrived, type CapybaraRefusal, type ServerCore, migrates } from './server.js';
import type { TcpControlBlockState } from './tcp/connection.js';
import { type TcpPacket, rewriteEndpoint } from './tcp/packet.js';
import { decodeTcpState } from './tcp/state-codec.js';
import { decodeConnState } from './conn-state.js';
import { formatEndpoint, formatIp, nodeOfIp } from './topology.js';

/** A connection on its way here: the PREPARE_MIG it answers, the client's segments held meanwhile, the CONN_STATE fragments so far. */
interface Incoming {
  id: number;
  since: number;
  /** The PREPARE_MIG it answers (origin, client, migration number). */
  header: MigHeader;
  buffered: { packet: TcpPacket; raw: Uint8Array }[];
  state: Fragments;
}

/** Segments a target holds for one arriving connection; beyond it the oldest go (TCP resends them). */
const BUFFER_LIMIT = 4096;
/** Fragments of one CONN_STATE at most: its header numbers them in 16 bits. */
const MAX_STATE_FRAGMENTS = 0x10000;
const REFUSED_KEPT = 1024;
/** Resend intervals a target waits for an acknowledged migration's CONN_STATE before asking the origin about it. */
const INCOMING_PROBE_RETRIES = 10;

/**
 * The target side of a migration (docs/capybara.md#tcpmig-phases): PREPARE_MIG → buffer the
 * client's segments, answer PREPARE_MIG_ACK with LOAD; on the whole CONN_STATE rebuild the
 * connection and session, acknowledge, replay the buffered segments. An origin's abandonment
 * lets go and hands back what was buffered.
 */
export class MigrationTarget {
  private readonly incoming = new Map<number, Incoming>();
  /** Imported migrations (origin:id) → their CONN_STATE_ACK, for a retransmitted CONN_STATE. */
  private readonly imported = new Map<string, { ack: Uint8Array; at: number }>();
  /** Migrations (origin:id) the origin abandoned, the newest REFUSED_KEPT of them. */
  private readonly refused = new LRUCache<string, true>({ max: REFUSED_KEPT });

  constructor(private readonly s: ServerCore) {}

  get size(): number {
    return this.incoming.size + this.imported.size;
  }

  /** Whether a client's connection is on its way here. */
  arriving(key: number): boolean {
    return this.incoming.has(key);
  }

  /** Holds a segment of a connection on its way here until it arrives; false if none is. */
  hold(key: number, packet: TcpPacket, raw: Uint8Array): boolean {
    const inc = this.incoming.get(key);
    if (!inc) return false;
    if (inc.buffered.length >= BUFFER_LIMIT) {
      inc.buffered.shift();
      this.s.observer.rejected('buffer-full', `migration ${inc.id} for ${formatEndpoint(key)} buffered ${BUFFER_LIMIT} segments`);
    }
    inc.buffered.push({ packet, raw });
    return true;
  }

  /** Whether this migration of a client's connection is the one on its way here. */
  awaits(key: number, id: number): boolean {
    return this.incoming.get(key)?.id === id;
  }

  prepareHere(ctx: Ctx<CapybaraMsg>, key: number, h: MigHeader): void {
    const reply = (stage: Stage, flags: number) => this.s.sendVia(ctx, this.s.params.switchNode, { ...h, stage, flags, fragment: 0 });
    const existing = this.incoming.get(key);
    if (existing && existing.id === h.migration) {
      reply(STAGE.prepareAck, FLAG_LOAD); // our ACK was lost
      return;
    }
    const busy = existing || this.refused.has(`${h.originIp}:${h.migration}`) || this.s.stack.lookup(h.clientIp, h.clientPort, this.s.params.servicePort);
    if (busy || !migrates(this.s.params.mode)) {
      reply(STAGE.rejected, 0);
      return;
    }
    this.incoming.set(key, { id: h.migration, since: ctx.now, header: h, buffered: [], state: new Fragments(MAX_STATE_FRAGMENTS) });
    reply(STAGE.prepareAck, FLAG_LOAD);
    this.s.armRetry(ctx);
  }

  stateFragment(ctx: Ctx<CapybaraMsg>, key: number, h: MigHeader, payload: Uint8Array): void {
    const origin = nodeOfIp(h.originIp);
    const done = this.imported.get(`${h.originIp}:${h.migration}`);
    if (done) {
      // A resent CONN_STATE: acknowledged again once, at its last fragment, not once a fragment.
      if (!(h.flags & FLAG_NEXT_FRAGMENT)) this.s.sendVia(ctx, origin, { ...h, stage: STAGE.connStateAck, flags: 0, fragment: 0 }, done.ack);
      return;
    }
    const inc = this.incoming.get(key);
    if (!inc || inc.id !== h.migration) {
      const abandoned = this.refused.has(`${h.originIp}:${h.migration}`);
      this.s.observer.rejected('unexpected-state', `CONN_STATE of migration ${h.migration} for ${formatEndpoint(key)} ${abandoned ? 'its origin abandoned' : 'without a PREPARE_MIG'}`);
      // Not expecting it (this server restarted since it acknowledged the PREPARE_MIG): the origin
      // must know, once a CONN_STATE. (An abandoned one's origin knows.)
      if (!inc && !abandoned && !(h.flags & FLAG_NEXT_FRAGMENT)) this.s.sendVia(ctx, origin, { ...h, stage: STAGE.rejected, flags: FLAG_UNKNOWN, fragment: 0 });
      return;
    }
    const whole = this.reassemble(inc, h, payload);
    if (!whole) return;
    const opened = this.openState(whole, h);
    if ('refusal' in opened) {
      this.s.observer.rejected(opened.refusal, `CONN_STATE of migration ${h.migration}: ${opened.detail}`);
      inc.state = new Fragments(MAX_STATE_FRAGMENTS);
      return;
    }
    this.incoming.delete(key);
    this.s.importConnection(ctx, key, opened.tcp, opened.arrived);
    const ack = new Writer(8).u64(ctx.now).done();
    this.imported.set(`${h.originIp}:${h.migration}`, { ack, at: ctx.now });
    this.s.sendVia(ctx, origin, { ...h, stage: STAGE.connStateAck, flags: 0, fragment: 0 }, ack);
    // Replay what arrived while the connection was on its way.
    for (const b of inc.buffered) this.s.stack.receive(ctx.now, b.packet);
    this.s.armRetry(ctx);
  }

  /** Adds a CONN_STATE fragment; the whole state once every fragment is in, else null (a malformed fragment starts it over, counted). */
  private reassemble(inc: Incoming, h: MigHeader, payload: Uint8Array): Uint8Array | null {
    try {
      return inc.state.add(h.fragment, payload, !(h.flags & FLAG_NEXT_FRAGMENT));
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.s.observer.rejected(e.reason, `CONN_STATE fragment of migration ${h.migration}: ${e.message}`);
      inc.state = new Fragments(MAX_STATE_FRAGMENTS);
      return null;
    }
  }

  /** A whole CONN_STATE's connection, session and unserved requests, or why it is refused: malformed, or not the connection its header names on the service port. */
  private openState(whole: Uint8Array, h: MigHeader): { tcp: TcpControlBlockState; arrived: Arrived } | { refusal: CapybaraRefusal; detail: string } {
    let tcp: TcpControlBlockState;
    let arrived: Arrived;
    try {
      const body = decodeConnState(whole);
      tcp = decodeTcpState(body.tcp);
      arrived = { app: this.s.params.app.restore(body.app), waiting: body.waiting, closing: body.closing };
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      return { refusal: err.reason, detail: err.message };
    }
    if (tcp.remote.ip !== h.clientIp || tcp.remote.port !== h.clientPort || tcp.local.port !== this.s.params.servicePort) {
      return { refusal: 'state-mismatch', detail: `the state is of connection ${formatIp(tcp.remote.ip)}:${tcp.remote.port} → port ${tcp.local.port}, not the one the header names` };
    }
    return { tcp, arrived };
  }

  /** The origin abandoned an attempt: let go of it and hand back anything buffered. */
  abandonedHere(ctx: Ctx<CapybaraMsg>, key: number, h: MigHeader): void {
    this.refused.set(`${h.originIp}:${h.migration}`, true);
    const inc = this.incoming.get(key);
    if (inc && inc.id === h.migration) {
      this.incoming.delete(key);
      // Segments the switch sent here before it pointed the client back are still on their way.
      this.s.handedOver.set(key, { targetIp: h.originIp, until: ctx.now + FORWARD_US });
      for (const { packet, raw } of inc.buffered) {
        rewriteEndpoint(raw, 'dst', h.originIp, h.originPort);
        ctx.send(nodeOfIp(h.originIp), { kind: 'tcp', packet: { ...packet, dstIp: h.originIp }, raw });
      }
    }
    this.s.sendVia(ctx, this.s.params.switchNode, { ...h, stage: STAGE.rejected, flags: 0, fragment: 0 });
  }

  /** Forgets old acknowledgements; asks the origin about a CONN_STATE awaited too long (it may have restarted). */
  retry(ctx: Ctx<CapybaraMsg>): void {
    for (const [key, done] of this.imported) if (ctx.now - done.at > FORWARD_US) this.imported.delete(key);
    for (const inc of this.incoming.values()) {
      if (ctx.now - inc.since < INCOMING_PROBE_RETRIES * this.s.params.migrationRetryUs) continue;
      this.s.sendVia(ctx, nodeOfIp(inc.header.originIp), { ...inc.header, stage: STAGE.prepareAck, flags: FLAG_UNKNOWN, targetIp: this.s.ip, fragment: 0 });
    }
  }
}
