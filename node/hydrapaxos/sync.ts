import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { type HydraPaxosMsg, type LogPoint, type OrderKey, type PxSync, keyAtMost } from './messages.js';
import type { HydraPaxosReplica } from './replica.js';

const sameKey = (a: OrderKey, b: OrderKey) => a.clock === b.clock && a.sequencer === b.sequencer;

/**
 * Synchronization (docs/hydrapaxos.md#sync; NOPaxos's): the leader periodically sends its log end and its NO-OPs
 * (SYNC, which is also its heartbeat); a follower that holds the log up to there answers
 * SYNC-OK; with f+1 holding it the prefix is stable (SYNC-COMMIT), and replicas drop its undo
 * records and its log entries (log.ts's `stabilize`).
 */
export class Synchronization {
  private lastSyncAt = -Infinity;
  /** The leader's last SYNC point and who holds the log up to it. */
  private sent: { point: LogPoint; acks: Votes } | null = null;
  /** The leader's latest SYNC point, and whether we told it we hold the log up to there. */
  private offered: { point: LogPoint; acked: boolean } | null = null;

  constructor(private readonly r: HydraPaxosReplica) {}

  /** A view change: SYNC rounds of the old view are void. */
  reset(): void {
    this.sent = null;
    this.offered = null;
  }

  /** A new view's leader syncs at its next tick. */
  resetTimer(): void {
    this.lastSyncAt = -Infinity;
  }

  tick(ctx: Ctx<HydraPaxosMsg>): void {
    if (ctx.now - this.lastSyncAt >= this.r.p.syncIntervalUs) this.send(ctx);
  }

  private send(ctx: Ctx<HydraPaxosMsg>): void {
    const r = this.r;
    this.lastSyncAt = ctx.now;
    const point = r.log.currentPoint();
    const acks = new Votes(r.f + 1);
    acks.add(r.me, true);
    this.sent = { point, acks };
    ctx.multicast(r.peers(), { type: 'px-sync', view: r.view, point, noops: [...r.log.noops.values()] });
    if (r.f === 0) r.log.stabilize(point);
  }

  onSync(ctx: Ctx<HydraPaxosMsg>, m: PxSync): void {
    const r = this.r;
    if (m.view < r.view || r.status === 'recovering') return;
    if (m.view > r.view || r.status !== 'normal') {
      if (m.view > r.view) r.stateTransfer.request(ctx, r.leaderOf(m.view));
      return;
    }
    r.heardLeaderAt = ctx.now;
    for (const s of m.noops) r.gaps.applyNoop(ctx, s);
    this.offered = { point: m.point, acked: false };
    r.normal.drain(ctx);
  }

  /** Once our log reaches the leader's SYNC point, SYNC-OK tells it so (once per SYNC). */
  acknowledgeIfHeld(ctx: Ctx<HydraPaxosMsg>): void {
    const r = this.r;
    const o = this.offered;
    if (!o || o.acked || r.status !== 'normal' || !keyAtMost(o.point.key, r.log.end)) return;
    o.acked = true;
    const missing = r.log.lacking(o.point);
    if (missing) {
      // Our log reaches the point but lacks a slot the leader logged before it: we do not hold
      // that prefix (acknowledging would make it "stable" at f+1 with a hole in one copy, which a
      // later view change may pick). Take the leader's state, which has it.
      r.stateTransfer.request(ctx, r.leaderOf(r.view), false, true);
      return;
    }
    ctx.send(r.leaderNode(r.view), { type: 'px-sync-ok', view: r.view, replica: r.me, key: o.point.key });
  }

  onSyncOk(ctx: Ctx<HydraPaxosMsg>, view: number, replica: number, key: OrderKey): void {
    const r = this.r;
    const s = this.sent;
    if (view !== r.view || !r.isLeader || !s || !sameKey(s.point.key, key)) return;
    s.acks.add(replica, true);
    if (!s.acks.reached) return;
    this.sent = null;
    r.log.stabilize(s.point);
    ctx.multicast(r.peers(), { type: 'px-sync-commit', view, key });
  }

  onSyncCommit(view: number, key: OrderKey): void {
    const r = this.r;
    const o = this.offered?.point;
    if (view !== r.view || r.status !== 'normal' || !o || !sameKey(o.key, key)) return;
    // A log that lacks part of the prefix (awaiting the leader's state) must not call it stable.
    if (keyAtMost(key, r.log.end) && !r.log.lacking(o)) r.log.stabilize(o);
    this.offered = null;
  }
}
