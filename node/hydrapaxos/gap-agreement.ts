import { invariant } from '../protocol/invariant.js';
import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { type HydraPaxosMsg, type PxGapReply, type SlotId, slotKey } from './messages.js';
import type { HydraPaxosReplica } from './replica.js';

/** A slot Hydra reported dropped, waiting to be recovered from a peer or filled with a NO-OP. */
interface Gap {
  slot: SlotId;
  since: number;
  /** Peers that answered they do not have it either. */
  missing: Votes;
  /** The leader asked the followers to record a NO-OP (GAP-COMMIT). */
  committing: boolean;
  /** Replicas that recorded the NO-OP. */
  acks: Votes;
}

/**
 * Gap agreement (docs/hydrapaxos.md#drops-and-gap-agreement; NOPaxos's, for Hydra's drop notifications): a replica asks its peers for
 * a dropped slot's message; the leader that finds it nowhere within `gapCommitUs` (or hears from
 * every peer that they miss it) fills the slot with a NO-OP that f+1 replicas record
 * (GAP-COMMIT / GAP-COMMIT-OK). A replica that had logged the message rolls it back.
 */
export class GapAgreement {
  private readonly gaps = new Map<string, Gap>();

  constructor(private readonly r: HydraPaxosReplica) {}

  clear(): void {
    this.gaps.clear();
  }

  /** Asks the peers for a slot's message (once per slot). */
  start(ctx: Ctx<HydraPaxosMsg>, slot: SlotId): void {
    const k = slotKey(slot);
    if (this.gaps.has(k)) return;
    const r = this.r;
    this.gaps.set(k, { slot, since: ctx.now, missing: new Votes(r.n - 1), committing: false, acks: new Votes(r.f + 1) });
    ctx.multicast(r.peers(), { type: 'px-gap-request', view: r.view, replica: r.me, slot });
  }

  /** Resends: GAP-COMMITs to replicas that have not recorded the NO-OP, requests for the rest; the leader decides slots nobody has. */
  tick(ctx: Ctx<HydraPaxosMsg>): void {
    const r = this.r;
    for (const g of [...this.gaps.values()]) {
      if (!r.normal.buffer.isWaiting(g.slot)) {
        this.gaps.delete(slotKey(g.slot));
      } else if (r.isLeader && g.committing) {
        ctx.multicast(r.p.replicas.filter((_, i) => !g.acks.has(i)), { type: 'px-gap-commit', view: r.view, slot: g.slot });
      } else if (r.isLeader && (ctx.now - g.since >= r.p.gapCommitUs || r.txn.dropDecided(g.slot))) {
        this.resolve(ctx, g);
      } else {
        ctx.multicast(r.peers(), { type: 'px-gap-request', view: r.view, replica: r.me, slot: g.slot });
      }
    }
  }

  onRequest(ctx: Ctx<HydraPaxosMsg>, replica: number, slot: SlotId): void {
    const r = this.r;
    const to = r.p.replicas[replica];
    if (to === undefined || r.status === 'recovering') return;
    const found = r.log.find(slot) ?? r.normal.buffer.get(slot) ?? r.txn.heldEntries.get(slotKey(slot));
    const status = found ? 'found' : r.log.noops.has(slotKey(slot)) ? 'noop' : r.log.decided(slot) ? 'truncated' : 'missing';
    ctx.send(to, { type: 'px-gap-reply', view: r.view, replica: r.me, slot, status, entry: found ?? null });
  }

  onReply(ctx: Ctx<HydraPaxosMsg>, m: PxGapReply): void {
    const r = this.r;
    const g = this.gaps.get(slotKey(m.slot));
    if (!g || !r.normal.buffer.isWaiting(m.slot) || r.status === 'recovering') return;
    if (m.status === 'found' && m.entry && !g.committing) {
      if (r.txn.heldEntries.has(slotKey(m.slot))) return;
      this.gaps.delete(slotKey(m.slot));
      r.normal.admit(ctx, m.entry);
      r.normal.drain(ctx);
    } else if (m.status === 'noop' && !r.isLeader && m.view === r.view && r.status === 'normal') {
      this.applyNoop(ctx, m.slot);
      r.normal.drain(ctx);
    } else if (m.status === 'truncated') {
      r.stateTransfer.request(ctx, m.replica);
    } else if (m.status === 'missing') {
      g.missing.add(m.replica, true);
      if (r.isLeader && !g.committing && g.missing.reached) this.resolve(ctx, g);
    }
  }

  /** The leader found no replica with a slot's message: a NO-OP, unless other shards may have it (HydraTxn). */
  private resolve(ctx: Ctx<HydraPaxosMsg>, g: Gap): void {
    const r = this.r;
    if (r.txn.crossShard && !r.txn.dropDecided(g.slot)) r.txn.crossShard.coordinate(ctx, g.slot);
    else this.startCommit(ctx, g);
  }

  private startCommit(ctx: Ctx<HydraPaxosMsg>, g: Gap): void {
    const r = this.r;
    g.committing = true;
    g.acks = new Votes(r.f + 1);
    g.acks.add(r.me, true);
    if (g.acks.reached) return this.committed(ctx, g.slot);
    ctx.multicast(r.peers(), { type: 'px-gap-commit', view: r.view, slot: g.slot });
  }

  onCommit(ctx: Ctx<HydraPaxosMsg>, view: number, slot: SlotId): void {
    const r = this.r;
    if (view > r.view) return r.stateTransfer.request(ctx, r.leaderOf(view));
    if (view !== r.view || r.status !== 'normal' || r.isLeader) return;
    r.heardLeaderAt = ctx.now;
    this.applyNoop(ctx, slot);
    r.normal.drain(ctx);
    ctx.send(r.leaderNode(view), { type: 'px-gap-commit-ok', view, replica: r.me, slot });
  }

  onCommitOk(ctx: Ctx<HydraPaxosMsg>, view: number, replica: number, slot: SlotId): void {
    const g = this.gaps.get(slotKey(slot));
    if (view !== this.r.view || !this.r.isLeader || !g?.committing) return;
    g.acks.add(replica, true);
    if (g.acks.reached) this.committed(ctx, slot);
  }

  private committed(ctx: Ctx<HydraPaxosMsg>, slot: SlotId): void {
    this.applyNoop(ctx, slot);
    this.r.obs.noopCommitted();
    this.r.normal.drain(ctx);
  }

  /** Records a slot as a NO-OP; a message we had logged (and executed) for it is taken back out. */
  applyNoop(ctx: Ctx<HydraPaxosMsg>, slot: SlotId): void {
    const r = this.r;
    const k = slotKey(slot);
    if (r.log.noops.has(k)) return;
    r.log.noops.set(k, slot);
    this.gaps.delete(k);
    r.txn.heldEntries.delete(k);
    r.normal.buffer.noop(slot);
    const i = r.log.findIndex((e) => slotKey(e.slot) === k);
    if (i < 0) return;
    // We had logged (and executed) the message the leader never got: take it back out.
    const redo = r.log.rollbackTo(i).slice(1);
    for (const e of redo) r.normal.execute(ctx, e, false);
    invariant(r.log.findIndex((e) => slotKey(e.slot) === k) < 0, 'noop-not-logged', () => `slot ${k} is both a NO-OP and in the log`);
  }
}
