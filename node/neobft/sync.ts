import { hex } from '../crypto/bytes.js';
import { QuorumTally, Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { sign, verifySigned } from './auth.js';
import type { NeoMsg } from './messages.js';
import type { Sync } from './protocol-messages.js';
import type { Replica } from './replica.js';
import { type FinalPoint, GENESIS } from './view-change-merge.js';
import { SYNC_INTERVAL } from './replica-params.js';

/** Whether `slot` of epoch `epoch` (started after slot `start`) is a SYNC point: every SYNC_INTERVAL slots, and a later epoch's first slot (EPOCH-START). */
export const isSyncPoint = (slot: number, epoch: number, start: number) => slot >= start && (slot % SYNC_INTERVAL === 0 || (slot === start && epoch > 1));

/**
 * SYNC and the final prefix (docs/neobft.md#sync-and-the-final-prefix): every SYNC_INTERVAL
 * slots each replica signs its log hash and state digest there; 2f+1 matching SYNCs make the
 * point final (never rolled back) and are the certificate a VIEW-CHANGE and a state transfer
 * carry. An epoch's first SYNC point (EPOCH-START) certifies the epoch; its held messages go in.
 */
export class Synchronization {
  /** SYNC votes per slot by log hash; the highest slot 2f+1 replicas agreed on is final. */
  private readonly votes = new Map<number, QuorumTally<Sync>>();
  /** Our own SYNCs, by slot. */
  private readonly mine = new Map<number, Sync>();
  /** The sync point: the highest slot 2f+1 replicas (this one included) agreed on. */
  point = 0;
  /** The 2f+1 SYNCs that made the sync point final (a VIEW-CHANGE's certificate). */
  cert: Sync[] = [];
  /** The latest epoch with a certificate (its messages are held until then). */
  certifiedEpoch = 1;
  /** Our EPOCH-START of epoch 1 (a fresh testbed), sent to its sequencer until it orders something. */
  epochOneStart: Sync | null = null;

  constructor(private readonly r: Replica) {}

  get size(): number {
    return this.votes.size;
  }

  /** Tells the others our log hash at `slot`, a SYNC point. */
  send(ctx: Ctx<NeoMsg>, slot: number): void {
    const r = this.r;
    const epochStart = r.epochStarts.get(r.view.epoch)!;
    const stateDigest = r.log.stateAt(slot).digest();
    const m = sign<Sync>({
      type: 'sync', view: r.view, replica: r.p.index, slot, logHash: r.log.hashes[slot]!, stateDigest, epochStart, resent: false, sig: new Uint8Array(64),
    }, r.p.keys);
    this.mine.set(slot, m);
    for (const old of this.mine.keys()) if (old < slot - 2 * SYNC_INTERVAL) this.mine.delete(old);
    ctx.multicast(r.others(), m);
    // EPOCH-START also tells the new sequencer that f+1 replicas have installed it.
    if (slot === epochStart) ctx.send(r.p.sequencerNode(r.view.epoch), m);
    this.onSync(ctx, m);
  }

  /** A SYNC sent again for a point already final here: its sender is still waiting for it (it lost ours), so ours again. */
  answer(ctx: Ctx<NeoMsg>, m: Sync): void {
    const r = this.r;
    if (!m.resent || m.slot > this.point || m.view.epoch !== r.view.epoch) return;
    const mine = this.mine.get(m.slot);
    if (mine && m.replica !== r.p.index && m.replica < r.p.replicas.length) ctx.send(r.p.replicas[m.replica]!, mine);
  }

  onSync(ctx: Ctx<NeoMsg>, m: Sync): void {
    const r = this.r;
    // A log hash does not depend on the leader: SYNCs of any view of our epoch count.
    if (m.view.epoch !== r.view.epoch || r.epochStarts.get(m.view.epoch) !== m.epochStart || !isSyncPoint(m.slot, m.view.epoch, m.epochStart)) return;
    // An EPOCH-START may fall on the final point already reached (an epoch that ordered nothing).
    const certifies = m.slot === m.epochStart && m.view.epoch > this.certifiedEpoch;
    if (m.slot <= this.point && !certifies) return this.answer(ctx, m);
    // A resend of a SYNC we counted (its sender still waits for ours, which it gets on our retry) adds nothing.
    const counted = this.votes.get(m.slot)?.get(hex(m.logHash))?.get(m.replica);
    if (counted && counted.view.epoch === m.view.epoch && counted.epochStart === m.epochStart) return;
    if (m.replica !== r.p.index && !verifySigned(m, r.p.keys)) {
      r.obs.invalid('bad-sync');
      return;
    }
    const who = this.count(m);
    // Final only where our own log agrees: 2f+1 matching hashes, ours among them.
    const mine = r.log.hashes[m.slot];
    const agreed = who.reached;
    // 2f+1 others made a point final more than an interval past what we executed: what we lack
    // is compacted at them, so only their state brings us there.
    // A mute replica takes any later final point's state: in Byzantine-network mode it cannot
    // fill a slot it missed (that takes 2f+1 CONFIRMs of this view, and it sends none).
    if (agreed && (m.slot > r.log.executed + SYNC_INTERVAL || (r.mute && m.slot > r.log.executed))) r.stateTransfer.want(m.slot);
    if (agreed && mine && hex(mine) !== hex(m.logHash)) return this.contradicted(ctx, m.slot);
    if (!agreed || !mine || hex(mine) !== hex(m.logHash)) return;
    // (An EPOCH-START is at or past the final point: the epoch started after what was final.)
    this.finalize(ctx, m.slot, who.values().slice(0, r.quorum), m.view.epoch);
  }

  /** Counts `m` (a later SYNC of the same sender replaces its earlier one); returns who sent its hash at its slot. */
  private count(m: Sync): Votes<Sync> {
    let bySlot = this.votes.get(m.slot);
    if (!bySlot) this.votes.set(m.slot, (bySlot = new QuorumTally<Sync>(this.r.quorum)));
    return bySlot.set(hex(m.logHash), m.replica, m);
  }

  /**
   * 2f+1 replicas made `slot` final with a log other than the one we executed speculatively:
   * somewhere past our sync point we hold what they settled otherwise (a message only we
   * received, made a no-op by a gap agreement whose decision we missed and the leader has
   * since compacted). That execution is undone and the slots up to theirs go; their state
   * there replaces them (state transfer).
   */
  private contradicted(ctx: Ctx<NeoMsg>, slot: number): void {
    const r = this.r;
    r.log.rollback(this.point + 1);
    for (let s = this.point + 1; s <= slot; s++) delete r.log.slots[s];
    r.stateTransfer.want(slot);
    r.stateTransfer.ask(ctx);
  }

  /** `slot` is final (`cert`: 2f+1 matching SYNCs of `epoch`): what waited for it goes on, what only a rollback needed goes. */
  finalize(ctx: Ctx<NeoMsg>, slot: number, cert: Sync[], epoch: number): void {
    const r = this.r;
    // Progress in this view: timeouts are back to their base.
    if (slot > this.point && epoch === r.view.epoch && r.status === 'normal') r.viewChange.progressed();
    this.point = slot;
    this.cert = cert;
    for (const s of this.votes.keys()) if (s <= slot) this.votes.delete(s);
    r.log.dropUndo(slot);
    r.compact(slot - SYNC_INTERVAL);
    r.obs.synced(slot);
    if (epoch > this.certifiedEpoch) {
      // The epoch certificate (the epoch's first SYNC point, or any later one: 2f+1 logs that
      // match ours past the epoch's start): the new epoch's held messages may go in now.
      this.certifiedEpoch = epoch;
      r.normal.release(ctx);
    }
    r.normal.releaseDeferred(ctx);
  }

  /** The highest slot past our sync point that f+1 other replicas (a correct one among them) sent SYNCs for in this epoch; 0 if none. */
  finalElsewhere(): number {
    let best = 0;
    for (const [slot, byHash] of this.votes) {
      if (slot <= best) continue;
      const who = new Votes(this.r.p.f + 1);
      for (const [, bySender] of byHash.entries()) for (const s of bySender.senders()) if (s !== this.r.p.index) who.add(s, true);
      if (who.reached) best = slot;
    }
    return best;
  }

  /** Our latest SYNC until it is agreed (it may have been lost), or until it certifies our epoch. */
  resendLatest(ctx: Ctx<NeoMsg>): void {
    const r = this.r;
    const last = [...this.mine.values()].reduce<Sync | undefined>((a, b) => (a && a.slot > b.slot ? a : b), undefined);
    if (last && (last.slot > this.point || this.certifiedEpoch < r.view.epoch) && r.resends.due(`sync/${last.slot}`, ctx.now)) {
      ctx.multicast(r.others(), { ...last, resent: true });
    }
  }

  /**
   * The new epoch's sequencer numbers nothing until f+1 EPOCH-STARTs reached it, and ours went
   * once: while clients wait (requests sent directly) and the sequencer has ordered nothing in
   * this epoch, ours goes again. Lost, it left the sequencer idle, the replicas gave up on it
   * and moved on to the next epoch.
   */
  announceEpoch(ctx: Ctx<NeoMsg>): void {
    const r = this.r;
    if (r.view.epoch === 1 || r.clients.direct.size === 0 || r.aom.nextSeq > 1 || !r.resends.due(`epoch/${r.view.epoch}`, ctx.now)) return;
    const start = r.epochStarts.get(r.view.epoch)!;
    const mine = this.mine.get(start);
    if (mine && mine.view.epoch === r.view.epoch && mine.epochStart === start) ctx.send(r.p.sequencerNode(r.view.epoch), mine);
  }

  /** A fresh testbed's replica tells epoch 1's sequencer to start (EPOCH-START at slot 0). */
  startEpochOne(ctx: Ctx<NeoMsg>): void {
    const r = this.r;
    this.epochOneStart = sign<Sync>({
      type: 'sync', view: r.view, replica: r.p.index, slot: 0, logHash: r.log.hashes[0]!, stateDigest: r.log.store.digest(), epochStart: 0,
      resent: false, sig: new Uint8Array(64),
    }, r.p.keys);
    ctx.send(r.p.sequencerNode(1), this.epochOneStart);
  }

  /** Until epoch 1's sequencer orders something. */
  resendEpochOne(ctx: Ctx<NeoMsg>): void {
    if (this.epochOneStart) ctx.send(this.r.p.sequencerNode(1), this.epochOneStart);
  }

  /**
   * A new view: SYNCs of the epoch stay good across its views, and ours at final points answer
   * replicas still waiting for one (those past the final point are made again, after any rollback).
   */
  newView(newEpoch: boolean): void {
    if (newEpoch) this.votes.clear();
    for (const slot of this.mine.keys()) if (newEpoch || slot > this.point) this.mine.delete(slot);
  }

  /**
   * Our latest SYNC may have died with the old view: said again in the new one, at the highest
   * SYNC point executed both before and after the view change (a new epoch's start even on the
   * final point: it is the epoch's certificate).
   */
  resync(ctx: Ctx<NeoMsg>, before: number, newEpoch: boolean): void {
    const r = this.r;
    const start = r.epochStarts.get(r.view.epoch)!;
    const floor = newEpoch ? start - 1 : Math.max(this.point, start - 1);
    for (let slot = Math.min(before, r.log.executed); slot > floor; slot--) {
      if (isSyncPoint(slot, r.view.epoch, start)) {
        this.send(ctx, slot);
        break;
      }
    }
  }

  /** The final point our certificate proves. */
  finalPoint(): FinalPoint {
    const c = this.cert[0];
    return c ? { slot: c.slot, hash: c.logHash, epoch: c.view.epoch, epochStart: c.epochStart } : GENESIS;
  }

  compact(upto: number): void {
    this.r.resends.forgetWhere((key) => key.startsWith('sync/') && Number(key.slice(5)) <= upto);
  }
}
