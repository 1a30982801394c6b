import { hydraCodec } from '../hydra/codec.js';
import type { Config } from '../hydra/messages.js';
import { type Delivery, Receiver, type ReceiverObserver, type ReceiverParams } from '../hydra/receiver.js';
import { clientNode } from '../hydra/topology.js';
import type { Execution, StateMachine, StateMachineKind } from '../apps/state-machine.js';
import type { Core, Ctx, NodeId, WireReason } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { PaxosReassembly, chunksOf } from './codec.js';
import { CrossShard, type CrossShardHost } from './cross-shard.js';
import { HoldTable, holdRank } from './holds.js';
import {
  type Hold, type HoldState, type HydraPaxosMsg, type LogEntry, type LogPoint, type LogState, ORIGIN, type OrderKey, type PaxosMsg,
  type PxGapReply, type PxState, type PxStartView, type PxSync, type PxViewChange, type SlotId, type Stamp, type StreamCounter,
  entryKey, keyAtMost, keyBefore, slotKey, stampIn, stampKey, streamKey,
} from './messages.js';
import { ReleaseBuffer } from './release-buffer.js';

export interface HydraPaxosParams {
  /** This replica's member id; it is also the Hydra receiver of its group. */
  id: NodeId;
  group: number;
  /** The group's replicas (its Hydra receivers) by replica number; 2f+1 of them. */
  replicas: NodeId[];
  receiver: Omit<ReceiverParams, 'id' | 'group'>;
  /** The replicated application (a key-value store, or a shard of HydraTxn's transactional store). */
  app: StateMachineKind;
  /**
   * HydraTxn: the replicas of every group (shard), by group. Messages may go to several shards,
   * so a slot no replica of this shard has is resolved with the other shards (cross-shard.ts)
   * before it becomes a NO-OP. Null for HydraPaxos, whose groups are independent.
   */
  shards: NodeId[][] | null;
  /** The leader's SYNC period, which is also its heartbeat. */
  syncIntervalUs: number;
  /** Silence from the leader (or a view change not finishing) for this long starts the next view. */
  viewChangeUs: number;
  /** Resend period of gap requests, gap commits and view changes. */
  gapRetryUs: number;
  /** How long the leader looks for a dropped message before it fills the slot with a NO-OP. */
  gapCommitUs: number;
  stateRetryUs: number;
  /**
   * A deliberately broken variant, only for the checker's own test: a drop notification is
   * filled with a local NO-OP (no peers, no agreement) and every replica's reply carries its
   * result, so a client may commit on replies that do not include the leader's.
   */
  unsafeLocalNoops?: boolean;
}

export type ViewChangeReason = 'leader-silent' | 'view-change-timeout' | 'peer-request' | 'recovered-leader';

/** Why a replica refused a request, a reassembled message or a transferred state (`switchyard_hydrapaxos_rejected_total{reason}`). */
export type HydraPaxosRefusal = 'bad-request' | 'unknown-client' | `chunk-${WireReason}` | `state-${WireReason}`;

export interface HydraPaxosObserver {
  executed(): void;
  noopCommitted(): void;
  viewChanged(view: number, reason: ViewChangeReason): void;
  stateTransferred(): void;
  /** HydraTxn: a message lost by a whole shard was decided found (executed everywhere) or dropped (nowhere). */
  crossShardDecided(outcome: 'found' | 'dropped'): void;
  rejected(reason: HydraPaxosRefusal): void;
  /** A property the protocol relies on failed here (a bug): counted and logged so a failing run says where. */
  invariantViolated(kind: 'log-order', detail: string): void;
  hydra: ReceiverObserver;
}

interface Logged {
  entry: LogEntry;
  undo: Execution['undo'] | null;
}

interface Gap {
  slot: SlotId;
  since: number;
  missing: Set<number>;
  committing: boolean;
  acks: Set<number>;
}

type Status = 'recovering' | 'normal' | 'view-change';

const RECENT = 8192;

/**
 * A HydraPaxos replica (NOPaxos over Hydra, seed-systems.md §1.1 and §2.6): the group's Hydra
 * receiver feeds it; every replica logs each delivery in Hydra's order; all execute (so a new
 * leader and a restarted replica have state), only the leader's reply carries the result, and
 * a client commits on f+1 replies for the same (view, slot) including the leader's.
 *
 * - Drops: a drop notification makes the replica ask its peers; messages after it wait (the
 *   ReleaseBuffer) until the slot is recovered or filled. The leader fills a slot nobody has
 *   with a NO-OP by gap agreement (f+1 replicas record it; a replica that had logged the
 *   message rolls it back). A client never committed such a slot: it needs the leader's reply.
 * - SYNC: the leader periodically sends its log end and its NO-OPs; f+1 holding that prefix
 *   make it stable, and replicas drop their undo records and log before it.
 * - View change: a replica that does not hear the leader for `viewChangeUs` moves to the
 *   next view (leader = view mod n) and sends its log since its sync point. Every replica's
 *   log is a complete prefix of Hydra's order, so the new leader takes the longest and applies
 *   every NO-OP any of f+1 replicas knows (a committed NO-OP is known to f+1, so one of them).
 * - State transfer: a booting replica asks its peers; f empty answers mean nothing ever
 *   happened (with at most f failures), otherwise it adopts a peer's state at its sync point
 *   plus its log since, and jumps its Hydra receiver there. A replica whose peers have
 *   truncated what it misses does the same. A restarted leader hands over to the next view.
 * - Sequencer failure is Hydra's: the embedded receiver takes part in reconfiguration.
 */
export class HydraPaxosReplica implements Core<HydraPaxosMsg> {
  private readonly receiver: Receiver;
  private readonly me: number;
  private readonly n: number;
  private readonly f: number;
  private inbox: Delivery[] = [];
  private held: Delivery[] = [];
  private view = 0;
  private status: Status = 'recovering';
  private lastNormal = 0;
  private store: StateMachine;
  private log: Logged[] = [];
  private readonly inLog = new Map<string, LogEntry>();
  /** Entries recently made stable, kept a while to answer a lagging peer's gap requests without a state transfer. */
  private readonly recent = new Map<string, LogEntry>();
  private syncPoint: LogPoint = { key: ORIGIN, streams: [] };
  private streams = new Map<string, StreamCounter>();
  private end: OrderKey = ORIGIN;
  private noops = new Map<string, SlotId>();
  private buffer = new ReleaseBuffer();
  private hadState = false;
  private readonly gaps = new Map<string, Gap>();
  private lastSyncAt = -Infinity;
  private syncSent: { point: LogPoint; acks: Set<number> } | null = null;
  /** The leader's latest SYNC point, and whether we told it we hold the log up to there. */
  private syncOffered: { point: LogPoint; acked: boolean } | null = null;
  private heardLeaderAt = 0;
  private vcStartedAt = 0;
  private vcSentAt = -Infinity;
  private readonly vcLogs = new Map<number, PxViewChange>();
  private stateWanted: { at: number; nonce: number; empties: Set<number> } | null = null;
  private nonce = 0;
  private readonly reassembly = new PaxosReassembly();
  private executedCount = 0;
  /** HydraTxn: holds by stamp, messages waiting on a hold, and which peers recorded each hold. */
  private readonly holds = new HoldTable();
  private readonly heldEntries = new Map<string, LogEntry>();
  private readonly holdAcks = new Map<string, Map<number, HoldState>>();
  private readonly crossShard: CrossShard | null;

  constructor(private readonly p: HydraPaxosParams, private readonly obs: HydraPaxosObserver) {
    this.me = p.replicas.indexOf(p.id);
    if (this.me < 0) throw new Error(`member ${p.id} is not a replica of group ${p.group}`);
    this.n = p.replicas.length;
    this.f = Math.floor((this.n - 1) / 2);
    this.store = p.app.create();
    this.crossShard = p.shards && p.shards.length > 1 ? new CrossShard(this.crossShardHost(p.shards)) : null;
    this.receiver = new Receiver({ ...p.receiver, id: p.id, group: p.group }, {
      ...obs.hydra,
      delivered: (d, now) => {
        obs.hydra.delivered(d, now);
        this.inbox.push(d);
      },
    });
  }

  /** For tests and metrics. */
  get state() {
    return {
      view: this.view, status: this.status, end: this.end, executed: this.executedCount, logSinceSync: this.log.length,
      waiting: this.buffer.size, held: this.heldEntries.size, store: this.store.contents(),
    };
  }

  start(ctx: Ctx<HydraPaxosMsg>): void {
    this.receiver.start(ctx);
    this.heardLeaderAt = ctx.now;
    if (this.f === 0) this.startFresh(ctx);
    else this.requestState(ctx, null);
    ctx.setTimer('px:tick', this.p.gapRetryUs);
  }

  receive(ctx: Ctx<HydraPaxosMsg>, m: HydraPaxosMsg): void {
    if (!m.type.startsWith('px-')) {
      this.receiver.receive(ctx, m as Parameters<Receiver['receive']>[1]);
      this.takeDeliveries(ctx);
      return;
    }
    this.dispatch(ctx, m as PaxosMsg);
  }

  timer(ctx: Ctx<HydraPaxosMsg>, name: string): void {
    if (name !== 'px:tick') {
      this.receiver.timer(ctx, name);
      this.takeDeliveries(ctx);
      return;
    }
    this.tick(ctx);
    ctx.setTimer('px:tick', this.p.gapRetryUs);
  }

  private leaderOf(view: number): number {
    return view % this.n;
  }

  private get isLeader(): boolean {
    return this.status === 'normal' && this.leaderOf(this.view) === this.me;
  }

  private peers(): NodeId[] {
    return this.p.replicas.filter((_, i) => i !== this.me);
  }

  private dispatch(ctx: Ctx<HydraPaxosMsg>, m: PaxosMsg): void {
    switch (m.type) {
      case 'px-chunk': {
        let whole: PaxosMsg | null;
        try {
          whole = this.reassembly.add(m);
        } catch (e) {
          if (!(e instanceof WireError)) throw e;
          this.obs.rejected(`chunk-${e.reason}`);
          return;
        }
        if (whole) this.dispatch(ctx, whole);
        return;
      }
      case 'px-gap-request': return this.onGapRequest(ctx, m.replica, m.slot);
      case 'px-gap-reply': return this.onGapReply(ctx, m);
      case 'px-gap-commit': return this.onGapCommit(ctx, m.view, m.slot);
      case 'px-gap-commit-ok': return this.onGapCommitOk(ctx, m.view, m.replica, m.slot);
      case 'px-sync': return this.onSync(ctx, m);
      case 'px-sync-ok': return this.onSyncOk(ctx, m.view, m.replica, m.key);
      case 'px-sync-commit': return this.onSyncCommit(ctx, m.view, m.key);
      case 'px-view-change-request':
        if (m.view > this.view && this.status !== 'recovering') this.startViewChange(ctx, m.view, 'peer-request');
        return;
      case 'px-view-change': return this.onViewChange(ctx, m);
      case 'px-start-view': return this.onStartView(ctx, m);
      case 'px-state-request': return this.onStateRequest(ctx, m.replica, m.nonce);
      case 'px-state-empty':
        if (this.status === 'recovering' && this.stateWanted?.nonce === m.nonce) {
          this.stateWanted.empties.add(m.replica);
          if (this.stateWanted.empties.size >= this.f) this.startFresh(ctx);
        }
        return;
      case 'px-state': return this.onState(ctx, m);
      case 'px-hold': return this.onHold(ctx, m.view, m.hold);
      case 'px-hold-ok':
        if (m.view === this.view && this.isLeader) this.holdAcks.get(stampKey(m.hold))?.set(m.replica, m.hold.state);
        return;
      case 'px-txn-find': return this.isLeader ? this.crossShard?.onFind(ctx, m) : undefined;
      case 'px-txn-answer': return this.isLeader ? this.crossShard?.onAnswer(ctx, m) : undefined;
      case 'px-txn-decide': return this.isLeader ? this.crossShard?.onDecide(ctx, m) : undefined;
      case 'px-txn-decided': return this.isLeader ? this.crossShard?.onDecided(ctx, m.group, m.stamp) : undefined;
      case 'px-reply': return;
    }
  }

  // ---- Hydra deliveries into the log ----

  private takeDeliveries(ctx: Ctx<HydraPaxosMsg>): void {
    if (this.inbox.length === 0) {
      // Hydra's delivery point may have moved past a recovered message without delivering anything.
      if (this.status !== 'recovering' && this.buffer.size > 0) this.drain(ctx);
      return;
    }
    const batch = this.inbox;
    this.inbox = [];
    if (this.status === 'recovering') {
      // Kept until we know where the log stands; a state transfer skips what it covers.
      if (this.held.length + batch.length <= 1_000_000) this.held.push(...batch);
      return;
    }
    for (const d of batch) this.onDelivery(ctx, d);
    this.drain(ctx);
  }

  private onDelivery(ctx: Ctx<HydraPaxosMsg>, d: Delivery): void {
    const slot: SlotId = d.kind === 'message'
      ? { sequencer: d.msg.sequencer, epoch: d.epoch, seq: d.seq }
      : { sequencer: d.sequencer, epoch: d.epoch, seq: d.seq };
    if (this.decided(slot)) return;
    if (d.kind === 'message') {
      this.admit(ctx, { slot, clock: d.msg.clock, groups: d.msg.groups, stamps: d.msg.stamps, request: d.msg.payload });
      return;
    }
    if (this.buffer.get(slot)) return;
    this.buffer.dropped(slot);
    if (this.p.unsafeLocalNoops) this.applyNoop(ctx, slot);
    else this.startGap(ctx, slot);
  }

  /** Whether the slot is in the log (or was, before the sync point) or is a NO-OP. */
  private decided(slot: SlotId): boolean {
    return slot.seq < (this.streams.get(streamKey(slot.sequencer, slot.epoch))?.next ?? 1) || this.noops.has(slotKey(slot));
  }

  private drain(ctx: Ctx<HydraPaxosMsg>): void {
    this.buffer.reached(this.receiver.deliveredThrough);
    for (const e of this.buffer.drain()) this.append(ctx, e, true);
    const o = this.syncOffered;
    if (o && !o.acked && this.status === 'normal' && keyAtMost(o.point.key, this.end)) {
      o.acked = true;
      ctx.send(this.p.replicas[this.leaderOf(this.view)]!, { type: 'px-sync-ok', view: this.view, replica: this.me, key: o.point.key });
    }
  }

  private append(ctx: Ctx<HydraPaxosMsg>, e: LogEntry, reply: boolean): void {
    if (this.noops.has(slotKey(e.slot)) || this.inLog.has(slotKey(e.slot))) return;
    let exec: Execution | null = null;
    try {
      exec = this.store.execute(e.request);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      // Every replica logs the same bytes, so every replica skips it alike.
      this.obs.rejected(err.reason === 'unknown-client' ? err.reason : 'bad-request');
    }
    if (this.log.length > 0 && !keyBefore(this.end, entryKey(e))) {
      const k = (key: OrderKey) => `(${key.clock}, ${key.sequencer})`;
      this.obs.invariantViolated('log-order', `slot ${slotKey(e.slot)} at ${k(entryKey(e))} appended after the log end ${k(this.end)} (slot ${slotKey(this.log[this.log.length - 1]!.entry.slot)}; view ${this.view}, ${this.status})`);
    }
    this.log.push({ entry: e, undo: exec?.undo ?? null });
    this.inLog.set(slotKey(e.slot), e);
    const sk = streamKey(e.slot.sequencer, e.slot.epoch);
    const s = this.streams.get(sk);
    if (!s || e.slot.seq >= s.next) this.streams.set(sk, { sequencer: e.slot.sequencer, epoch: e.slot.epoch, next: e.slot.seq + 1 });
    this.end = entryKey(e);
    this.hadState = true;
    this.executedCount++;
    this.obs.executed();
    if (!reply || this.status !== 'normal' || !exec || exec.result === null) return;
    ctx.send(clientNode(exec.client), {
      type: 'px-reply', view: this.view, group: this.p.group, replica: this.me, client: exec.client, requestId: exec.requestId,
      slot: e.slot, result: this.isLeader || this.p.unsafeLocalNoops ? exec.result : null,
    });
  }

  /** Undoes the log from index i on (its end moves back with it); returns what was undone, in log order. */
  private rollbackTo(i: number): LogEntry[] {
    const undone = this.log.splice(i);
    this.end = this.log.length > 0 ? entryKey(this.log[this.log.length - 1]!.entry) : this.syncPoint.key;
    for (let j = undone.length - 1; j >= 0; j--) {
      const l = undone[j]!;
      if (l.undo) this.store.undo(l.undo);
      this.inLog.delete(slotKey(l.entry.slot));
      this.executedCount--;
    }
    return undone.map((l) => l.entry);
  }

  private applyNoop(ctx: Ctx<HydraPaxosMsg>, slot: SlotId): void {
    const k = slotKey(slot);
    if (this.noops.has(k)) return;
    this.noops.set(k, slot);
    this.gaps.delete(k);
    this.heldEntries.delete(k);
    this.buffer.noop(slot);
    const i = this.log.findIndex((l) => slotKey(l.entry.slot) === k);
    if (i >= 0) {
      // We had logged (and executed) the message the leader never got: take it back out.
      const redo = this.rollbackTo(i).slice(1);
      for (const e of redo) this.append(ctx, e, false);
    }
  }

  // ---- Gaps ----

  private startGap(ctx: Ctx<HydraPaxosMsg>, slot: SlotId): void {
    const k = slotKey(slot);
    if (this.gaps.has(k)) return;
    this.gaps.set(k, { slot, since: ctx.now, missing: new Set(), committing: false, acks: new Set() });
    ctx.multicast(this.peers(), { type: 'px-gap-request', view: this.view, replica: this.me, slot });
  }

  private onGapRequest(ctx: Ctx<HydraPaxosMsg>, replica: number, slot: SlotId): void {
    const to = this.p.replicas[replica];
    if (to === undefined || this.status === 'recovering') return;
    const found = this.inLog.get(slotKey(slot)) ?? this.recent.get(slotKey(slot)) ?? this.buffer.get(slot) ?? this.heldEntries.get(slotKey(slot));
    const status = found ? 'found' : this.noops.has(slotKey(slot)) ? 'noop' : this.decided(slot) ? 'truncated' : 'missing';
    ctx.send(to, { type: 'px-gap-reply', view: this.view, replica: this.me, slot, status, entry: found ?? null });
  }

  private onGapReply(ctx: Ctx<HydraPaxosMsg>, m: PxGapReply): void {
    const g = this.gaps.get(slotKey(m.slot));
    if (!g || !this.buffer.isWaiting(m.slot) || this.status === 'recovering') return;
    if (m.status === 'found' && m.entry && !g.committing) {
      if (this.heldEntries.has(slotKey(m.slot))) return;
      this.gaps.delete(slotKey(m.slot));
      this.admit(ctx, m.entry);
      this.drain(ctx);
    } else if (m.status === 'noop' && !this.isLeader && m.view === this.view && this.status === 'normal') {
      this.applyNoop(ctx, m.slot);
      this.drain(ctx);
    } else if (m.status === 'truncated') {
      this.requestState(ctx, m.replica);
    } else if (m.status === 'missing') {
      g.missing.add(m.replica);
      if (this.isLeader && !g.committing && g.missing.size >= this.n - 1) this.resolve(ctx, g);
    }
  }

  private startCommit(ctx: Ctx<HydraPaxosMsg>, g: Gap): void {
    g.committing = true;
    g.acks = new Set([this.me]);
    if (g.acks.size >= this.f + 1) return this.gapCommitted(ctx, g.slot);
    ctx.multicast(this.peers(), { type: 'px-gap-commit', view: this.view, slot: g.slot });
  }

  private onGapCommit(ctx: Ctx<HydraPaxosMsg>, view: number, slot: SlotId): void {
    if (view > this.view) return this.requestState(ctx, this.leaderOf(view));
    if (view !== this.view || this.status !== 'normal' || this.isLeader) return;
    this.heardLeaderAt = ctx.now;
    this.applyNoop(ctx, slot);
    this.drain(ctx);
    ctx.send(this.p.replicas[this.leaderOf(view)]!, { type: 'px-gap-commit-ok', view, replica: this.me, slot });
  }

  private onGapCommitOk(ctx: Ctx<HydraPaxosMsg>, view: number, replica: number, slot: SlotId): void {
    const g = this.gaps.get(slotKey(slot));
    if (view !== this.view || !this.isLeader || !g?.committing) return;
    g.acks.add(replica);
    if (g.acks.size >= this.f + 1) this.gapCommitted(ctx, slot);
  }

  private gapCommitted(ctx: Ctx<HydraPaxosMsg>, slot: SlotId): void {
    this.applyNoop(ctx, slot);
    this.obs.noopCommitted();
    this.drain(ctx);
  }

  // ---- Cross-shard holds (HydraTxn) ----

  /**
   * A message for one of our slots (delivered, or recovered): into the release buffer, or, at
   * the leader, set aside while a hold covers it. Followers only record holds (for the next
   * view's leader) and follow the leader's log: what they log ahead of it is undone by its
   * NO-OPs or its next START-VIEW.
   */
  private admit(ctx: Ctx<HydraPaxosMsg>, e: LogEntry): void {
    if (this.crossShard && this.isLeader && this.holds.verdict(e) !== 'free') {
      if (!this.buffer.isWaiting(e.slot)) this.buffer.dropped(e.slot);
      this.heldEntries.set(slotKey(e.slot), e);
      this.startGap(ctx, e.slot);
      return;
    }
    if (this.buffer.isWaiting(e.slot)) this.buffer.recovered(e);
    else this.buffer.delivered(e);
  }

  /** Held messages whose holds were released (or all of them, at a replica no longer leading) go back to their places. */
  private releaseHeld(): void {
    for (const [k, e] of this.heldEntries) {
      if (this.isLeader && this.holds.verdict(e) !== 'free') continue;
      this.heldEntries.delete(k);
      this.buffer.recovered(e);
    }
  }

  /**
   * A new leader: a message some replica logged before its shard held it leaves the log again
   * (with everything after it) and waits for its decision, as does a held one in the buffer.
   */
  private retractHeld(): void {
    if (!this.crossShard || !this.isLeader) return;
    for (const e of [...this.buffer.entries()]) {
      if (this.holds.verdict(e) === 'free') continue;
      this.buffer.setAside(e.slot, this.end);
      this.heldEntries.set(slotKey(e.slot), e);
    }
    const i = this.log.findIndex((l) => this.holds.verdict(l.entry) !== 'free');
    if (i < 0) return;
    const undone = this.rollbackTo(i);
    for (const e of undone) {
      const sk = streamKey(e.slot.sequencer, e.slot.epoch);
      const st = this.streams.get(sk);
      if (st && e.slot.seq < st.next) this.streams.set(sk, { ...st, next: e.slot.seq });
    }
    const held = undone.filter((e) => this.holds.verdict(e) !== 'free');
    for (const e of held) this.heldEntries.set(slotKey(e.slot), e);
    this.buffer.reinsert(undone.filter((e) => this.holds.verdict(e) === 'free'), held.map((e) => e.slot), this.end);
  }

  /** Whether a waiting slot's message was decided dropped everywhere (so the leader fills it with a NO-OP). */
  private dropDecided(slot: SlotId): boolean {
    if (!this.crossShard) return false;
    const held = this.heldEntries.get(slotKey(slot));
    return held ? this.holds.verdict(held) === 'dropped' : this.holds.get({ ...slot, group: this.p.group })?.state === 'dropped';
  }

  /** The leader found no replica with a slot's message: a NO-OP, unless other shards may have it (HydraTxn). */
  private resolve(ctx: Ctx<HydraPaxosMsg>, g: Gap): void {
    if (this.crossShard && !this.dropDecided(g.slot)) this.crossShard.coordinate(ctx, g.slot);
    else this.startCommit(ctx, g);
  }

  private onHold(ctx: Ctx<HydraPaxosMsg>, view: number, hold: Hold): void {
    if (view !== this.view || this.status !== 'normal' || this.isLeader) return;
    this.heardLeaderAt = ctx.now;
    this.holds.set(hold);
    ctx.send(this.p.replicas[this.leaderOf(view)]!, { type: 'px-hold-ok', view, replica: this.me, hold: this.holds.get(hold)! });
  }

  /** Records a hold here and at the followers; true once f+1 replicas have it (at least in that state). */
  private replicateHold(ctx: Ctx<HydraPaxosMsg>, hold: Hold): boolean {
    this.holds.set(hold);
    const k = stampKey(hold);
    let acks = this.holdAcks.get(k);
    if (!acks) this.holdAcks.set(k, (acks = new Map()));
    const has = (i: number) => i === this.me || holdRank(acks.get(i) ?? 'none') >= holdRank(hold.state);
    const missing = this.p.replicas.filter((_, i) => !has(i));
    if (this.n - missing.length >= this.f + 1) return true;
    ctx.multicast(missing, { type: 'px-hold', view: this.view, hold: this.holds.get(hold)! });
    return false;
  }

  private lookup(stamp: Stamp): ReturnType<CrossShardHost['lookup']> {
    const bears = (e: LogEntry) => e.slot.sequencer === stamp.sequencer && e.slot.epoch === stamp.epoch && stampIn(e, stamp.group) === stamp.seq;
    for (const e of this.recent.values()) if (bears(e)) return { entry: e, status: 'stable' };
    for (const l of this.log) if (bears(l.entry)) return { entry: l.entry, status: 'pending' };
    for (const e of this.heldEntries.values()) {
      if (!bears(e)) continue;
      const v = this.holds.verdict(e);
      return { entry: e, status: v === 'free' ? 'pending' : v };
    }
    for (const e of this.buffer.entries()) if (bears(e)) return { entry: e, status: 'pending' };
    return null;
  }

  /** A message decided found: it joins our log at our slot for it (if it was addressed to us). */
  private release(ctx: Ctx<HydraPaxosMsg>, entry: LogEntry): void {
    this.releaseHeld();
    const seq = stampIn(entry, this.p.group);
    if (seq !== undefined) {
      const mine: LogEntry = { ...entry, slot: { sequencer: entry.slot.sequencer, epoch: entry.slot.epoch, seq } };
      if (!this.decided(mine.slot) && this.buffer.isWaiting(mine.slot) && !this.heldEntries.has(slotKey(mine.slot))) this.buffer.recovered(mine);
    }
    this.drain(ctx);
  }

  private crossShardHost(shards: NodeId[][]): CrossShardHost {
    return {
      group: this.p.group, holds: this.holds, shards,
      replicateHold: (ctx, h) => this.replicateHold(ctx, h),
      lookup: (stamp) => this.lookup(stamp),
      release: (ctx, entry) => this.release(ctx, entry),
      decided: (outcome) => this.obs.crossShardDecided(outcome),
    };
  }

  // ---- Periodic work ----

  private tick(ctx: Ctx<HydraPaxosMsg>): void {
    const now = ctx.now;
    if (this.stateWanted && now - this.stateWanted.at >= this.p.stateRetryUs) this.requestState(ctx, null, true);
    if (this.status === 'recovering') return;
    if (this.status === 'view-change') {
      if (now - this.vcStartedAt > this.p.viewChangeUs) this.startViewChange(ctx, this.view + 1, 'view-change-timeout');
      else if (now - this.vcSentAt >= this.p.viewChangeUs / 4) this.sendViewChange(ctx);
      return;
    }
    if (this.isLeader) {
      if (now - this.lastSyncAt >= this.p.syncIntervalUs) this.sendSync(ctx);
    } else if (now - this.heardLeaderAt > this.p.viewChangeUs) {
      return this.startViewChange(ctx, this.view + 1, 'leader-silent');
    }
    for (const g of [...this.gaps.values()]) {
      if (!this.buffer.isWaiting(g.slot)) {
        this.gaps.delete(slotKey(g.slot));
      } else if (this.isLeader && g.committing) {
        ctx.multicast(this.p.replicas.filter((_, i) => !g.acks.has(i)), { type: 'px-gap-commit', view: this.view, slot: g.slot });
      } else if (this.isLeader && (now - g.since >= this.p.gapCommitUs || this.dropDecided(g.slot))) {
        this.resolve(ctx, g);
      } else {
        ctx.multicast(this.peers(), { type: 'px-gap-request', view: this.view, replica: this.me, slot: g.slot });
      }
    }
    if (this.isLeader) this.crossShard?.tick(ctx);
  }

  // ---- SYNC ----

  private currentPoint(): LogPoint {
    return { key: this.end, streams: [...this.streams.values()] };
  }

  private sendSync(ctx: Ctx<HydraPaxosMsg>): void {
    this.lastSyncAt = ctx.now;
    const point = this.currentPoint();
    this.syncSent = { point, acks: new Set([this.me]) };
    ctx.multicast(this.peers(), { type: 'px-sync', view: this.view, point, noops: [...this.noops.values()] });
    if (this.f === 0) this.commitSync(point);
  }

  private onSync(ctx: Ctx<HydraPaxosMsg>, m: PxSync): void {
    if (m.view < this.view || this.status === 'recovering') return;
    if (m.view > this.view || this.status !== 'normal') {
      if (m.view > this.view) this.requestState(ctx, this.leaderOf(m.view));
      return;
    }
    this.heardLeaderAt = ctx.now;
    for (const s of m.noops) this.applyNoop(ctx, s);
    this.syncOffered = { point: m.point, acked: false };
    this.drain(ctx);
  }

  private onSyncOk(ctx: Ctx<HydraPaxosMsg>, view: number, replica: number, key: OrderKey): void {
    const s = this.syncSent;
    if (view !== this.view || !this.isLeader || !s || s.point.key.clock !== key.clock || s.point.key.sequencer !== key.sequencer) return;
    s.acks.add(replica);
    if (s.acks.size < this.f + 1) return;
    this.syncSent = null;
    this.commitSync(s.point);
    ctx.multicast(this.peers(), { type: 'px-sync-commit', view, key });
  }

  private onSyncCommit(_ctx: Ctx<HydraPaxosMsg>, view: number, key: OrderKey): void {
    const o = this.syncOffered?.point;
    if (view !== this.view || this.status !== 'normal' || !o || o.key.clock !== key.clock || o.key.sequencer !== key.sequencer) return;
    if (keyAtMost(key, this.end)) this.commitSync(o);
    this.syncOffered = null;
  }

  /** The log up to `point` is held by f+1 replicas: it can no longer change, so its undo records go. */
  private commitSync(point: LogPoint): void {
    if (!keyBefore(this.syncPoint.key, point.key)) return;
    let i = 0;
    while (i < this.log.length && keyAtMost(entryKey(this.log[i]!.entry), point.key)) {
      const e = this.log[i++]!.entry;
      this.inLog.delete(slotKey(e.slot));
      this.recent.set(slotKey(e.slot), e);
    }
    for (const k of this.recent.keys()) {
      if (this.recent.size <= RECENT) break;
      this.recent.delete(k);
    }
    this.log.splice(0, i);
    this.syncPoint = point;
    const below = new Map(point.streams.map((s) => [streamKey(s.sequencer, s.epoch), s.next]));
    for (const [k, s] of this.noops) if (s.seq < (below.get(streamKey(s.sequencer, s.epoch)) ?? 1)) this.noops.delete(k);
  }

  // ---- View change ----

  private logState(): LogState {
    return {
      sync: this.syncPoint, entries: this.log.map((l) => l.entry), noops: [...this.noops.values()], end: this.currentPoint(),
      holds: this.holds.all(),
    };
  }

  private sendBulk(ctx: Ctx<HydraPaxosMsg>, to: NodeId[], m: PaxosMsg): void {
    if (to.length === 0) return;
    for (const c of chunksOf(m, this.me, ++this.nonce)) ctx.multicast(to, c);
  }

  private startViewChange(ctx: Ctx<HydraPaxosMsg>, view: number, reason: ViewChangeReason): void {
    if (view <= this.view && this.status === 'view-change') return;
    this.view = view;
    this.status = 'view-change';
    this.vcStartedAt = ctx.now;
    this.vcLogs.clear();
    this.gaps.clear();
    this.syncSent = null;
    this.syncOffered = null;
    this.crossShard?.reset();
    this.obs.viewChanged(view, reason);
    ctx.multicast(this.peers(), { type: 'px-view-change-request', view });
    this.sendViewChange(ctx);
  }

  private sendViewChange(ctx: Ctx<HydraPaxosMsg>): void {
    this.vcSentAt = ctx.now;
    const m: PxViewChange = { type: 'px-view-change', view: this.view, replica: this.me, lastNormal: this.lastNormal, log: this.logState() };
    const leader = this.leaderOf(this.view);
    if (leader === this.me) this.onViewChange(ctx, m);
    else this.sendBulk(ctx, [this.p.replicas[leader]!], m);
  }

  private onViewChange(ctx: Ctx<HydraPaxosMsg>, m: PxViewChange): void {
    if (this.status === 'recovering' || m.view < this.view) return;
    if (m.view > this.view) this.startViewChange(ctx, m.view, 'peer-request');
    if (this.leaderOf(m.view) !== this.me) return;
    if (this.status === 'normal') {
      // It missed our START-VIEW.
      this.sendBulk(ctx, [this.p.replicas[m.replica]!], { type: 'px-start-view', view: this.view, log: this.logState() });
      return;
    }
    this.vcLogs.set(m.replica, m);
    this.tryCompleteViewChange(ctx);
  }

  private tryCompleteViewChange(ctx: Ctx<HydraPaxosMsg>): void {
    if (this.status !== 'view-change' || this.leaderOf(this.view) !== this.me || this.vcLogs.size < this.f + 1) return;
    const changes = [...this.vcLogs.values()];
    let best = changes[0]!;
    for (const c of changes) if (keyBefore(best.log.end.key, c.log.end.key)) best = c;
    if (keyBefore(this.end, best.log.sync.key)) {
      // What lies between our log end and its sync point is gone from every log: take its state.
      this.requestState(ctx, best.replica);
      return;
    }
    const noops = new Map<string, SlotId>();
    for (const c of changes) for (const s of c.log.noops) noops.set(slotKey(s), s);
    for (const c of changes) for (const h of c.log.holds) this.holds.set(h);
    this.adopt(ctx, best.log, [...noops.values()]);
    this.enterNormal(ctx);
    this.sendBulk(ctx, this.peers(), { type: 'px-start-view', view: this.view, log: this.logState() });
  }

  private onStartView(ctx: Ctx<HydraPaxosMsg>, m: PxStartView): void {
    if (this.status === 'recovering' || m.view < this.view || (m.view === this.view && this.status === 'normal')) return;
    if (keyBefore(this.end, m.log.sync.key)) {
      this.view = m.view;
      this.requestState(ctx, this.leaderOf(m.view));
      return;
    }
    if (m.view > this.view) this.obs.viewChanged(m.view, 'peer-request');
    this.view = m.view;
    for (const h of m.log.holds) this.holds.set(h);
    this.adopt(ctx, m.log, m.log.noops);
    this.enterNormal(ctx);
  }

  private enterNormal(ctx: Ctx<HydraPaxosMsg>): void {
    this.status = 'normal';
    this.lastNormal = this.view;
    this.heardLeaderAt = ctx.now;
    this.lastSyncAt = -Infinity;
    this.vcLogs.clear();
    this.gaps.clear();
    this.retractHeld();
    this.releaseHeld();
    this.drain(ctx);
    for (const slot of this.buffer.waiting()) this.startGap(ctx, slot);
  }

  /**
   * Makes our log the given one (a complete prefix of Hydra's order up to `l.end`) with
   * exactly the given NO-OPs: rolls back from the first difference and executes the rest.
   * What we had past its end goes back into the release buffer; a slot we had as a NO-OP
   * there, which the new view does not know, waits to be decided again.
   */
  private adopt(ctx: Ctx<HydraPaxosMsg>, l: LogState, noops: SlotId[]): void {
    const cut = keyBefore(this.syncPoint.key, l.sync.key) ? l.sync.key : this.syncPoint.key;
    const newNoops = new Map(noops.map((s) => [slotKey(s), s]));
    const endNext = new Map(l.end.streams.map((s) => [streamKey(s.sequencer, s.epoch), s.next]));
    const coveredByEnd = (s: SlotId) => s.seq < (endNext.get(streamKey(s.sequencer, s.epoch)) ?? 1);
    const target = [
      ...this.log.map((x) => x.entry).filter((e) => keyAtMost(entryKey(e), cut)),
      ...l.entries.filter((e) => keyBefore(cut, entryKey(e)) && keyAtMost(entryKey(e), l.end.key) && !newNoops.has(slotKey(e.slot))),
    ];
    const beyond = this.log.map((x) => x.entry).filter((e) => keyBefore(l.end.key, entryKey(e)));
    const reopened = [...this.noops.values()].filter((s) => !newNoops.has(slotKey(s)) && !coveredByEnd(s));
    let i = 0;
    while (i < this.log.length && i < target.length && slotKey(this.log[i]!.entry.slot) === slotKey(target[i]!.slot)) i++;
    this.rollbackTo(i);
    this.noops = newNoops;
    for (const e of target.slice(i)) this.append(ctx, e, false);
    this.streams = new Map(l.end.streams.map((s) => [streamKey(s.sequencer, s.epoch), s]));
    this.end = l.end.key;
    this.buffer.rebase(this.end, (s) => this.decided(s));
    this.buffer.reinsert(beyond.filter((e) => !this.decided(e.slot)), reopened, this.end);
    for (const [k, e] of this.heldEntries) if (this.decided(e.slot)) this.heldEntries.delete(k);
  }

  // ---- State transfer ----

  private requestState(ctx: Ctx<HydraPaxosMsg>, from: number | null, retry = false): void {
    const w = this.stateWanted;
    if (w && !retry && ctx.now - w.at < this.p.stateRetryUs) return;
    this.stateWanted = { at: ctx.now, nonce: ++this.nonce, empties: new Set() };
    const m = { type: 'px-state-request' as const, replica: this.me, nonce: this.stateWanted.nonce };
    if (from !== null && !retry) ctx.send(this.p.replicas[from]!, m);
    else ctx.multicast(this.peers(), m);
  }

  private onStateRequest(ctx: Ctx<HydraPaxosMsg>, replica: number, nonce: number): void {
    const to = this.p.replicas[replica];
    if (to === undefined || replica === this.me) return;
    if (!this.hadState && this.view === 0) {
      ctx.send(to, { type: 'px-state-empty', replica: this.me, nonce });
      return;
    }
    if (this.status === 'recovering') return;
    // The store as it was at the sync point: undo the log since, on a copy.
    const atSync = this.p.app.restore(this.store.snapshot());
    for (let j = this.log.length - 1; j >= 0; j--) {
      const u = this.log[j]!.undo;
      if (u) atSync.undo(u);
    }
    const m: PxState = {
      type: 'px-state', replica: this.me, nonce, view: this.view, normal: this.status === 'normal',
      config: hydraCodec.encode(this.receiver.configuration), store: atSync.snapshot(), log: this.logState(),
    };
    this.sendBulk(ctx, [to], m);
  }

  private startFresh(ctx: Ctx<HydraPaxosMsg>): void {
    this.stateWanted = null;
    this.status = 'normal';
    this.heardLeaderAt = ctx.now;
    this.replayHeld(ctx);
  }

  private replayHeld(ctx: Ctx<HydraPaxosMsg>): void {
    const held = this.held;
    this.held = [];
    for (const d of held) this.onDelivery(ctx, d);
    this.drain(ctx);
  }

  private onState(ctx: Ctx<HydraPaxosMsg>, m: PxState): void {
    const w = this.stateWanted;
    if (!w || m.nonce !== w.nonce || m.view < this.view) return;
    if (this.status !== 'recovering' && !keyBefore(this.end, m.log.end.key)) {
      this.stateWanted = null;
      return;
    }
    let config: Config;
    let store: StateMachine;
    try {
      const c = hydraCodec.decode(m.config);
      if (c.type !== 'config') throw new WireError('bad-field', `state carries a ${c.type} where a configuration belongs`);
      config = c;
      store = this.p.app.restore(m.store);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.obs.rejected(`state-${e.reason}`);
      return;
    }
    const wasRecovering = this.status === 'recovering';
    this.stateWanted = null;
    this.store = store;
    this.heldEntries.clear();
    for (const h of m.log.holds) this.holds.set(h);
    this.log = [];
    this.inLog.clear();
    this.executedCount = 0;
    this.syncPoint = m.log.sync;
    this.noops = new Map(m.log.noops.map((s) => [slotKey(s), s]));
    this.streams = new Map(m.log.sync.streams.map((s) => [streamKey(s.sequencer, s.epoch), s]));
    for (const e of m.log.entries) if (keyBefore(m.log.sync.key, entryKey(e))) this.append(ctx, e, false);
    this.streams = new Map(m.log.end.streams.map((s) => [streamKey(s.sequencer, s.epoch), s]));
    this.end = m.log.end.key;
    this.hadState = true;
    this.obs.stateTransferred();
    this.buffer = new ReleaseBuffer();
    this.receiver.resume(ctx, config, m.log.end.streams, this.end);
    const deliveries = [...this.held, ...this.inbox];
    this.held = [];
    this.inbox = [];
    const view = m.view;
    const rejoining = this.status === 'view-change' && this.leaderOf(this.view) === this.me && this.view >= view;
    if (rejoining) {
      for (const d of deliveries) this.onDelivery(ctx, d);
      this.drain(ctx);
      this.tryCompleteViewChange(ctx);
      return;
    }
    this.view = view;
    this.status = 'normal';
    this.lastNormal = view;
    this.heardLeaderAt = ctx.now;
    this.gaps.clear();
    for (const d of deliveries) this.onDelivery(ctx, d);
    this.retractHeld();
    this.drain(ctx);
    for (const slot of this.buffer.waiting()) this.startGap(ctx, slot);
    if (!m.normal || (wasRecovering && this.leaderOf(view) === this.me)) {
      // Its view was changing, or we led it before we lost our state: move on to the next view.
      this.startViewChange(ctx, view + 1, wasRecovering ? 'recovered-leader' : 'peer-request');
    }
  }
}
