import type { NodeId } from '../runtime/core.js';
import type { Ctx } from '../runtime/core.js';
import { CrossShard, type CrossShardHost } from './cross-shard.js';
import { HoldTable, holdRank } from './holds.js';
import {
  type Hold, type HoldState, type HydraPaxosMsg, type LogEntry, type SlotId, type Stamp,
  slotKey, stampIn, stampKey, streamKey,
} from './messages.js';
import type { HydraPaxosReplica } from './replica.js';

/**
 * HydraTxn's side of a replica (docs/hydrapaxos.md#hydratxn-cross-shard-resolution): a message some shard lost entirely is resolved with the other
 * shards (cross-shard.ts) before it becomes a NO-OP; meanwhile its shards hold it. The leader
 * sets aside a message a hold covers; followers only record holds (for the next view's leader)
 * and follow the leader's log: what they log ahead of it is undone by its NO-OPs or its next
 * START-VIEW. HydraPaxos (independent groups) has no cross-shard coordinator and holds nothing.
 */
export class CrossShardHolds {
  readonly holds = new HoldTable();
  /** Messages set aside while a hold covers them, by slot. */
  readonly heldEntries = new Map<string, LogEntry>();
  /** Which followers recorded each hold, in which state. */
  private readonly holdAcks = new Map<string, Map<number, HoldState>>();
  readonly crossShard: CrossShard | null;

  constructor(private readonly r: HydraPaxosReplica) {
    const shards = r.p.shards;
    this.crossShard = shards && shards.length > 1 ? new CrossShard(this.host(shards)) : null;
  }

  private host(shards: NodeId[][]): CrossShardHost {
    return {
      group: this.r.p.group, holds: this.holds, shards,
      replicateHold: (ctx, h) => this.replicate(ctx, h),
      lookup: (stamp) => this.lookup(stamp),
      release: (ctx, entry) => this.release(ctx, entry),
      decided: (outcome) => this.r.obs.crossShardDecided(outcome),
    };
  }

  /** At the leader, a message a hold covers waits aside (its slot as a gap) instead of entering the release buffer. */
  setAside(ctx: Ctx<HydraPaxosMsg>, e: LogEntry): boolean {
    const r = this.r;
    if (!this.crossShard || !r.isLeader || this.holds.verdict(e) === 'free') return false;
    if (!r.normal.buffer.isWaiting(e.slot)) r.normal.buffer.dropped(e.slot);
    this.heldEntries.set(slotKey(e.slot), e);
    r.gaps.start(ctx, e.slot);
    return true;
  }

  /** Held messages whose holds were released (or all of them, at a replica no longer leading) go back to their places. */
  releaseHeld(): void {
    for (const [k, e] of this.heldEntries) {
      if (this.r.isLeader && this.holds.verdict(e) !== 'free') continue;
      this.heldEntries.delete(k);
      this.r.normal.buffer.recovered(e);
    }
  }

  /** After a view's log was adopted: held messages whose slots it decided are gone. */
  forgetDecided(): void {
    for (const [k, e] of this.heldEntries) if (this.r.log.decided(e.slot)) this.heldEntries.delete(k);
  }

  /**
   * A new leader: a message some replica logged before its shard held it leaves the log again
   * (with everything after it) and waits for its decision, as does a held one in the buffer.
   */
  retractHeld(): void {
    const r = this.r;
    if (!this.crossShard || !r.isLeader) return;
    for (const e of [...r.normal.buffer.entries()]) {
      if (this.holds.verdict(e) === 'free') continue;
      r.normal.buffer.setAside(e.slot, r.log.end);
      this.heldEntries.set(slotKey(e.slot), e);
    }
    const i = r.log.findIndex((e) => this.holds.verdict(e) !== 'free');
    if (i < 0) return;
    const undone = r.log.rollbackTo(i);
    for (const e of undone) {
      const sk = streamKey(e.slot.sequencer, e.slot.epoch);
      const st = r.log.streams.get(sk);
      if (st && e.slot.seq < st.next) r.log.streams.set(sk, { ...st, next: e.slot.seq });
    }
    const held = undone.filter((e) => this.holds.verdict(e) !== 'free');
    for (const e of held) this.heldEntries.set(slotKey(e.slot), e);
    r.normal.buffer.reinsert(undone.filter((e) => this.holds.verdict(e) === 'free'), held.map((e) => e.slot), r.log.end);
  }

  /** Whether a waiting slot's message was decided dropped everywhere (so the leader fills it with a NO-OP). */
  dropDecided(slot: SlotId): boolean {
    if (!this.crossShard) return false;
    const held = this.heldEntries.get(slotKey(slot));
    return held ? this.holds.verdict(held) === 'dropped' : this.holds.get({ ...slot, group: this.r.p.group })?.state === 'dropped';
  }

  onHold(ctx: Ctx<HydraPaxosMsg>, view: number, hold: Hold): void {
    const r = this.r;
    if (view !== r.view || r.status !== 'normal' || r.isLeader) return;
    r.heardLeaderAt = ctx.now;
    this.holds.set(hold);
    ctx.send(r.leaderNode(view), { type: 'px-hold-ok', view, replica: r.me, hold: this.holds.get(hold)! });
  }

  onHoldOk(view: number, replica: number, hold: Hold): void {
    if (view === this.r.view && this.r.isLeader) this.holdAcks.get(stampKey(hold))?.set(replica, hold.state);
  }

  /** Records a hold here and at the followers; true once f+1 replicas have it (at least in that state). */
  private replicate(ctx: Ctx<HydraPaxosMsg>, hold: Hold): boolean {
    const r = this.r;
    this.holds.set(hold);
    const k = stampKey(hold);
    let acks = this.holdAcks.get(k);
    if (!acks) this.holdAcks.set(k, (acks = new Map()));
    const has = (i: number) => i === r.me || holdRank(acks.get(i) ?? 'none') >= holdRank(hold.state);
    const missing = r.p.replicas.filter((_, i) => !has(i));
    if (r.n - missing.length >= r.f + 1) return true;
    ctx.multicast(missing, { type: 'px-hold', view: r.view, hold: this.holds.get(hold)! });
    return false;
  }

  private lookup(stamp: Stamp): ReturnType<CrossShardHost['lookup']> {
    const bears = (e: LogEntry) => e.slot.sequencer === stamp.sequencer && e.slot.epoch === stamp.epoch && stampIn(e, stamp.group) === stamp.seq;
    const logged = this.r.log.search(bears);
    if (logged) return logged;
    for (const e of this.heldEntries.values()) {
      if (!bears(e)) continue;
      const v = this.holds.verdict(e);
      return { entry: e, status: v === 'free' ? 'pending' : v };
    }
    for (const e of this.r.normal.buffer.entries()) if (bears(e)) return { entry: e, status: 'pending' };
    return null;
  }

  /** A message decided found: it joins our log at our slot for it (if it was addressed to us). */
  private release(ctx: Ctx<HydraPaxosMsg>, entry: LogEntry): void {
    const r = this.r;
    this.releaseHeld();
    const seq = stampIn(entry, r.p.group);
    if (seq !== undefined) {
      const mine: LogEntry = { ...entry, slot: { sequencer: entry.slot.sequencer, epoch: entry.slot.epoch, seq } };
      if (!r.log.decided(mine.slot) && r.normal.buffer.isWaiting(mine.slot) && !this.heldEntries.has(slotKey(mine.slot))) r.normal.buffer.recovered(mine);
    }
    r.normal.drain(ctx);
  }
}
