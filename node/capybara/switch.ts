import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { type CapybaraMsg, FLAG_LOAD, type MigHeader, STAGE } from './messages.js';
import { ACK, FIN, RST, SYN, rewriteEndpoint } from './tcp/packet.js';
import { pastWeight } from './policy.js';
import { endpointKey, ipOf, isClientIp, nodeOfIp } from './topology.js';

/**
 * The L4 switch in front of the virtual IP (docs/capybara.md#the-switch), as a pure core.
 *
 * - Migration directory: client (ip, port) → owning server. The hardware indexes 2^16 registers
 *   by a 16-bit CRC of the client and checks the stored identifier; here the directory is an
 *   exact map, so two clients never collide.
 * - A SYN from a client without a live entry picks a server and writes the entry: round-robin,
 *   least connections (least-weighted round robin with equal weights: the fewest live entries,
 *   ties in round-robin order), or least-loaded by the smoothed request counts. Client → VIP packets are rewritten to the
 *   owner; owner → client packets are rewritten to come from the VIP, so clients never see a
 *   server's address. An entry whose connection ended (both FINs or a reset) is reassigned by the
 *   next SYN from that client port.
 * - Request counting: every client segment carrying data counts as a request for its owner; each
 *   interval every server gets an RPS signal {sum, individual}.
 * - Migration: a PREPARE_MIG from an origin goes to the server with the fewest requests (smoothed
 *   over intervals) if moving the connection (its rate rides in the PREPARE_MIG's payload) keeps
 *   that server below the origin (back to the origin, as rejected, if the origin is already the least loaded);
 *   a PREPARE_MIG_ACK with LOAD points the client's entry at the target; a REJECTED with LOAD (the
 *   origin abandoning an attempt, or a target giving it back) points it at the origin again, and
 *   a late PREPARE_MIG_ACK of that attempt is then ignored.
 * - Addresses are checked before use (the network is trusted, not authenticated): a segment is
 *   forwarded only to a client of the testbed, and only a client gets a directory entry; anything
 *   else is dropped and counted (`switchyard_capybara_switch_dropped_total{reason}`).
 * - Recovery (Switchyard's; the paper's directory is soft state, the servers know which
 *   connections they hold): a restarted switch starts with an empty directory and a new
 *   incarnation, carried in every RPS signal. Servers that see a new incarnation announce their
 *   connections (OWN); a non-SYN segment of a client without an entry is dropped (TCP resends it)
 *   and every server is asked WHO_HAS that client, at most once per signal interval per client;
 *   the holder answers OWN. A claim fills an empty entry; a claim on a live entry of another
 *   server is stale (an answer overtaken by a migration) and ignored.
 */

export interface SwitchParams {
  id: NodeId;
  vip: number;
  servicePort: number;
  servers: readonly NodeId[];
  /** Clients 0..clients-1: the only addresses the switch forwards to or keeps directory entries for. */
  clients: number;
  assign: Assignment;
  signalIntervalUs: number;
  /** Differs on every start of the switch: servers notice a restart by it. */
  incarnation: number;
}

/** How the switch places a new connection (docs/capybara.md#the-switch). */
export type Assignment = 'round-robin' | 'least-connections' | 'least-loaded';

/** What directory recovery did (`switchyard_capybara_directory_recovery_total{reason}`). */
export type RecoveryEvent = 'asked' | 'restored' | 'confirmed' | 'conflicting-claim';

export interface SwitchObserver {
  forwarded(direction: 'to-server' | 'to-client'): void;
  requests(server: NodeId, count: number): void;
  /** A packet the switch could not place: reason for the rejection counter. */
  dropped(reason: 'no-entry' | 'not-vip' | 'unknown-server' | 'unknown-client'): void;
  ownerChanged(client: number, from: NodeId | null, to: NodeId, why: 'migrated' | 'rolled-back' | 'recovered'): void;
  recovery(event: RecoveryEvent): void;
}

interface Entry {
  owner: NodeId;
  clientFin: boolean;
  serverFin: boolean;
  reset: boolean;
  /** Migration numbers abandoned for this client: their late LOADs must not move the entry. */
  abandoned: number[];
  /**
   * The latest attempt and the target chosen for it: a resent PREPARE_MIG (its ACK was lost, even
   * after the entry moved) goes to the same target, which answers it again.
   */
  pending: { migration: number; target: NodeId } | null;
}

const ABANDONED_KEPT = 8;

const newEntry = (owner: NodeId): Entry => ({ owner, clientFin: false, serverFin: false, reset: false, abandoned: [], pending: null });
const ended = (entry: Entry): boolean => entry.reset || (entry.clientFin && entry.serverFin);

export class SwitchCore implements Core<CapybaraMsg> {
  private readonly directory = new Map<number, Entry>();
  private readonly counts = new Map<NodeId, number>();
  /** Requests per interval, smoothed over intervals: what "least loaded" means. */
  private readonly load = new Map<NodeId, number>();
  /** Live (not ended) directory entries per server: the weight least-connections balances. */
  private readonly live = new Map<NodeId, number>();
  private nextServer = 0;
  private readonly serverIps: Set<number>;
  /** Clients asked about (WHO_HAS) this signal interval. */
  private asked = new Set<number>();

  constructor(
    readonly params: SwitchParams,
    private readonly observer: SwitchObserver,
  ) {
    this.serverIps = new Set(params.servers.map(ipOf));
    for (const s of params.servers) this.counts.set(s, 0);
  }

  start(ctx: Ctx<CapybaraMsg>): void {
    ctx.setTimer('signal', this.params.signalIntervalUs);
  }

  receive(ctx: Ctx<CapybaraMsg>, msg: CapybaraMsg): void {
    if (msg.kind === 'tcp') this.forward(ctx, msg);
    else if (msg.kind === 'mig') this.migration(ctx, msg.header, msg.payload);
    else if (msg.kind === 'own') this.claim(msg.serverIp, msg.clients);
  }

  timer(ctx: Ctx<CapybaraMsg>, name: string): void {
    if (name !== 'signal') return;
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    for (const [server, n] of this.counts) ctx.send(server, { kind: 'rps', sum, individual: n, incarnation: this.params.incarnation });
    this.asked.clear();
    const past = pastWeight(this.params.signalIntervalUs);
    for (const [server, n] of this.counts) this.load.set(server, past * (this.load.get(server) ?? 0) + (1 - past) * n);
    for (const s of this.counts.keys()) this.counts.set(s, 0);
    ctx.setTimer('signal', this.params.signalIntervalUs);
  }

  private forward(ctx: Ctx<CapybaraMsg>, msg: Extract<CapybaraMsg, { kind: 'tcp' }>): void {
    const p = msg.packet;
    const raw = msg.raw!;
    if (this.serverIps.has(p.srcIp)) {
      // A server's segment (or one forged from its address) to an address no client has: dropped,
      // never forwarded to a member that does not exist.
      if (!isClientIp(p.dstIp, this.params.clients)) {
        this.observer.dropped('unknown-client');
        return;
      }
      const entry = this.directory.get(endpointKey(p.dstIp, p.dstPort));
      if (entry) this.mark(entry, p.flags, 'server');
      rewriteEndpoint(raw, 'src', this.params.vip, this.params.servicePort);
      ctx.send(nodeOfIp(p.dstIp), { kind: 'tcp', packet: p, raw });
      this.observer.forwarded('to-client');
      return;
    }
    if (p.dstIp !== this.params.vip || p.dstPort !== this.params.servicePort) {
      this.observer.dropped('not-vip');
      return;
    }
    if (!isClientIp(p.srcIp, this.params.clients)) {
      // No directory entry for an address that is no client: the server's answer could go nowhere.
      this.observer.dropped('unknown-client');
      return;
    }
    const key = endpointKey(p.srcIp, p.srcPort);
    let entry = this.directory.get(key);
    if (p.flags & SYN && !(p.flags & ACK) && (!entry || ended(entry))) {
      entry = this.enter(key, this.choose());
    }
    if (!entry) {
      this.observer.dropped('no-entry');
      if (!(p.flags & RST) && !this.asked.has(key)) {
        this.asked.add(key);
        ctx.multicast(this.params.servers, { kind: 'whoHas', clientIp: p.srcIp, clientPort: p.srcPort });
        this.observer.recovery('asked');
      }
      return;
    }
    this.mark(entry, p.flags, 'client');
    if (p.payload.length > 0) {
      this.counts.set(entry.owner, (this.counts.get(entry.owner) ?? 0) + 1);
      this.observer.requests(entry.owner, 1);
    }
    rewriteEndpoint(raw, 'dst', ipOf(entry.owner), p.dstPort);
    ctx.send(entry.owner, { kind: 'tcp', packet: p, raw });
    this.observer.forwarded('to-server');
  }

  /** A server says it holds connections from these clients (recovery). */
  private claim(serverIp: number, clients: readonly number[]): void {
    if (!this.serverIps.has(serverIp)) {
      this.observer.dropped('unknown-server');
      return;
    }
    const server = nodeOfIp(serverIp);
    for (const key of clients) {
      if (!isClientIp(Math.floor(key / 0x1_0000), this.params.clients)) {
        this.observer.dropped('unknown-client');
        continue;
      }
      const entry = this.directory.get(key);
      if (entry && !ended(entry)) {
        this.observer.recovery(entry.owner === server ? 'confirmed' : 'conflicting-claim');
        continue;
      }
      this.enter(key, server);
      this.observer.recovery('restored');
      this.observer.ownerChanged(key, null, server, 'recovered');
    }
  }

  private choose(): NodeId {
    const servers = this.params.servers;
    if (this.params.assign === 'least-loaded') return this.leastLoaded(null) ?? servers[0]!;
    const start = this.nextServer++;
    if (this.params.assign === 'round-robin') return servers[start % servers.length]!;
    // The fewest live connections; among those, the next in round-robin order.
    let best = servers[start % servers.length]!;
    for (let i = 1; i < servers.length; i++) {
      const s = servers[(start + i) % servers.length]!;
      if ((this.live.get(s) ?? 0) < (this.live.get(best) ?? 0)) best = s;
    }
    this.nextServer = servers.indexOf(best) + 1;
    return best;
  }

  /** A new live entry for a client, owned by `owner` (replacing an ended one). */
  private enter(key: number, owner: NodeId): Entry {
    const entry = newEntry(owner);
    this.directory.set(key, entry);
    this.live.set(owner, (this.live.get(owner) ?? 0) + 1);
    return entry;
  }

  /** Notes a FIN or reset from one side; an entry that ends stops counting as its owner's connection. */
  private mark(entry: Entry, flags: number, side: 'client' | 'server'): void {
    const was = ended(entry);
    if (flags & FIN) entry[side === 'client' ? 'clientFin' : 'serverFin'] = true;
    if (flags & RST) entry.reset = true;
    if (!was && ended(entry)) this.live.set(entry.owner, (this.live.get(entry.owner) ?? 0) - 1);
  }

  private moveOwner(key: number, entry: Entry, to: NodeId, why: 'migrated' | 'rolled-back'): void {
    const from = entry.owner;
    if (!ended(entry)) {
      this.live.set(from, (this.live.get(from) ?? 0) - 1);
      this.live.set(to, (this.live.get(to) ?? 0) + 1);
    }
    entry.owner = to;
    this.observer.ownerChanged(key, from, to, why);
  }

  /** The server with the fewest requests last interval (ties to the lowest id), other than `except`. */
  private leastLoaded(except: NodeId | null): NodeId | null {
    let best: NodeId | null = null;
    for (const s of this.params.servers) {
      if (s === except) continue;
      const load = this.load.get(s) ?? 0;
      if (best === null || load < (this.load.get(best) ?? 0)) best = s;
    }
    return best;
  }

  /** An attempt ended without moving the client: its late LOADs and resent PREPAREs are ignored. */
  private abandon(entry: Entry, migration: number): void {
    if (!entry.abandoned.includes(migration)) entry.abandoned = [...entry.abandoned, migration].slice(-ABANDONED_KEPT);
    if (entry.pending?.migration === migration) entry.pending = null;
  }

  private migration(ctx: Ctx<CapybaraMsg>, h: MigHeader, payload: Uint8Array): void {
    const origin = nodeOfIp(h.originIp);
    if (!this.serverIps.has(h.originIp)) {
      this.observer.dropped('unknown-server');
      return;
    }
    const key = endpointKey(h.clientIp, h.clientPort);
    const entry = this.directory.get(key);
    if (h.stage === STAGE.prepare) {
      if (entry?.pending?.migration === h.migration) {
        ctx.send(entry.pending.target, { kind: 'mig', header: { ...h, targetIp: ipOf(entry.pending.target) }, payload });
        return;
      }
      const target = this.leastLoaded(origin);
      const originLoad = this.load.get(origin) ?? 0;
      // The connection's own rate, when the origin says it: moving it must leave the target below
      // the origin, or the connection would only come back (requests per signal interval). An
      // origin that states no rate asks for the move regardless (forced migrations).
      const moved = payload.length === 4 ? (new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0) * this.params.signalIntervalUs) / 1e6 : null;
      const worse = target !== null && moved !== null && (this.load.get(target) ?? 0) + moved >= originLoad - moved;
      if (target === null || !entry || entry.owner !== origin || entry.abandoned.includes(h.migration) || worse) {
        // Returned by the switch: nowhere less loaded to go (or the origin no longer owns the client).
        // The attempt is over: a resent copy of this PREPARE_MIG must not find a target later.
        if (entry) this.abandon(entry, h.migration);
        ctx.send(origin, { kind: 'mig', header: { ...h, stage: STAGE.rejected, flags: 0, targetIp: 0 }, payload: new Uint8Array(0) });
        return;
      }
      entry.pending = { migration: h.migration, target };
      ctx.send(target, { kind: 'mig', header: { ...h, targetIp: ipOf(target) }, payload });
      return;
    }
    // An origin abandoning before it heard back does not know its target; the switch does.
    const target = this.serverIps.has(h.targetIp) ? nodeOfIp(h.targetIp) : entry?.pending?.migration === h.migration ? entry.pending.target : null;
    if (target === null) {
      if (h.stage === STAGE.rejected && h.flags & FLAG_LOAD) {
        // The PREPARE_MIG never got here: nothing moved, confirm at once.
        ctx.send(origin, { kind: 'mig', header: { ...h, flags: 0 }, payload: new Uint8Array(0) });
      } else {
        this.observer.dropped('unknown-server');
      }
      return;
    }
    if (h.stage === STAGE.prepareAck) {
      if (entry && h.flags & FLAG_LOAD && !entry.abandoned.includes(h.migration) && entry.owner === origin) {
        this.moveOwner(key, entry, target, 'migrated');
      }
      ctx.send(origin, { kind: 'mig', header: h, payload });
      return;
    }
    if (h.stage === STAGE.rejected) {
      if (h.flags & FLAG_LOAD) {
        // The attempt is abandoned: the origin keeps (or takes back) the client.
        if (entry) {
          this.abandon(entry, h.migration);
          if (entry.owner === target) this.moveOwner(key, entry, origin, 'rolled-back');
        }
        ctx.send(target, { kind: 'mig', header: { ...h, targetIp: ipOf(target) }, payload });
      } else {
        // The target refused (or confirms letting go): the origin ends the attempt, so does the switch.
        if (entry) this.abandon(entry, h.migration);
        ctx.send(origin, { kind: 'mig', header: h, payload });
      }
    }
  }
}
