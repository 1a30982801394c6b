import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import {
  type HydraPaxosMsg, type LogState, type PxStartView, type PxViewChange, type SlotId,
  entryKey, keyAtMost, keyBefore, slotKey, streamKey,
} from './messages.js';
import type { ViewChangeReason } from './replica-params.js';
import type { HydraPaxosReplica } from './replica.js';

/**
 * View change (docs/hydrapaxos.md#view-change; NOPaxos's): a replica that does not hear the leader for `viewChangeUs`
 * moves to the next view (leader = view mod n) and sends the new leader its log since its sync
 * point (VIEW-CHANGE). Every replica's log is a complete prefix of Hydra's order, so the new
 * leader, with f+1 of them, takes the longest and every NO-OP any of them knows (a committed
 * NO-OP is known to f+1, so to one of them), and sends it as START-VIEW.
 */
export class ViewChange {
  private startedAt = 0;
  private sentAt = -Infinity;
  /** The latest VIEW-CHANGE of each replica for the view (a resend carries a longer log); f+1 complete it. */
  private readonly logs: Votes<PxViewChange>;

  constructor(private readonly r: HydraPaxosReplica) {
    this.logs = new Votes(r.f + 1);
  }

  /** The log this replica sends in VIEW-CHANGE, START-VIEW and state transfer. */
  logState(): LogState {
    const log = this.r.log;
    return { sync: log.syncPoint, entries: log.list(), noops: [...log.noops.values()], end: log.currentPoint(), holds: this.r.txn.holds.all() };
  }

  tick(ctx: Ctx<HydraPaxosMsg>): void {
    if (ctx.now - this.startedAt > this.r.p.viewChangeUs) this.start(ctx, this.r.view + 1, 'view-change-timeout');
    else if (ctx.now - this.sentAt >= this.r.p.viewChangeUs / 4) this.send(ctx);
  }

  /** A peer asks every replica to move to `view`. */
  onRequest(ctx: Ctx<HydraPaxosMsg>, view: number): void {
    if (view > this.r.view && this.r.status !== 'recovering') this.start(ctx, view, 'peer-request');
  }

  start(ctx: Ctx<HydraPaxosMsg>, view: number, reason: ViewChangeReason): void {
    const r = this.r;
    if (view <= r.view && r.status === 'view-change') return;
    r.view = view;
    r.status = 'view-change';
    this.startedAt = ctx.now;
    this.logs.clear();
    r.gaps.clear();
    r.sync.reset();
    r.txn.crossShard?.reset();
    r.obs.viewChanged(view, reason);
    ctx.multicast(r.peers(), { type: 'px-view-change-request', view });
    this.send(ctx);
  }

  private send(ctx: Ctx<HydraPaxosMsg>): void {
    const r = this.r;
    this.sentAt = ctx.now;
    const m: PxViewChange = { type: 'px-view-change', view: r.view, replica: r.me, lastNormal: r.lastNormal, log: this.logState() };
    if (r.leaderOf(r.view) === r.me) this.onViewChange(ctx, m);
    else r.sendBulk(ctx, [r.leaderNode(r.view)], m);
  }

  onViewChange(ctx: Ctx<HydraPaxosMsg>, m: PxViewChange): void {
    const r = this.r;
    if (r.status === 'recovering' || m.view < r.view) return;
    if (m.view > r.view) this.start(ctx, m.view, 'peer-request');
    if (r.leaderOf(m.view) !== r.me) return;
    if (r.status === 'normal') {
      // It missed our START-VIEW.
      r.sendBulk(ctx, [r.p.replicas[m.replica]!], { type: 'px-start-view', view: r.view, log: this.logState() });
      return;
    }
    this.logs.set(m.replica, m);
    this.tryComplete(ctx);
  }

  /** The new leader with f+1 VIEW-CHANGEs: the longest log, every NO-OP any of them knows, then START-VIEW. */
  tryComplete(ctx: Ctx<HydraPaxosMsg>): void {
    const r = this.r;
    if (r.status !== 'view-change' || r.leaderOf(r.view) !== r.me || !this.logs.reached) return;
    const changes = this.logs.values();
    let best = changes[0]!;
    for (const c of changes) if (keyBefore(best.log.end.key, c.log.end.key)) best = c;
    if (keyBefore(r.log.end, best.log.sync.key)) {
      // What lies between our log end and its sync point is gone from every log: take its state.
      r.stateTransfer.request(ctx, best.replica);
      return;
    }
    const noops = new Map<string, SlotId>();
    for (const c of changes) for (const s of c.log.noops) noops.set(slotKey(s), s);
    for (const c of changes) for (const h of c.log.holds) r.txn.holds.set(h);
    this.adopt(ctx, best.log, [...noops.values()]);
    this.enterNormal(ctx);
    r.sendBulk(ctx, r.peers(), { type: 'px-start-view', view: r.view, log: this.logState() });
  }

  onStartView(ctx: Ctx<HydraPaxosMsg>, m: PxStartView): void {
    const r = this.r;
    if (r.status === 'recovering' || m.view < r.view || (m.view === r.view && r.status === 'normal')) return;
    if (keyBefore(r.log.end, m.log.sync.key)) {
      r.view = m.view;
      r.stateTransfer.request(ctx, r.leaderOf(m.view));
      return;
    }
    if (m.view > r.view) r.obs.viewChanged(m.view, 'peer-request');
    r.view = m.view;
    for (const h of m.log.holds) r.txn.holds.set(h);
    this.adopt(ctx, m.log, m.log.noops);
    this.enterNormal(ctx);
  }

  private enterNormal(ctx: Ctx<HydraPaxosMsg>): void {
    const r = this.r;
    r.status = 'normal';
    r.lastNormal = r.view;
    r.heardLeaderAt = ctx.now;
    r.sync.resetTimer();
    this.logs.clear();
    r.gaps.clear();
    r.txn.retractHeld();
    r.txn.releaseHeld();
    r.normal.drain(ctx);
    for (const slot of r.normal.buffer.waiting()) r.gaps.start(ctx, slot);
  }

  /**
   * Makes our log the given one (a complete prefix of Hydra's order up to `l.end`) with
   * exactly the given NO-OPs: rolls back from the first difference and executes the rest.
   * What we had past its end goes back into the release buffer; a slot we had as a NO-OP
   * there, which the new view does not know, waits to be decided again.
   */
  private adopt(ctx: Ctx<HydraPaxosMsg>, l: LogState, noops: SlotId[]): void {
    const r = this.r;
    const log = r.log;
    const cut = keyBefore(log.syncPoint.key, l.sync.key) ? l.sync.key : log.syncPoint.key;
    const newNoops = new Map(noops.map((s) => [slotKey(s), s]));
    const endNext = new Map(l.end.streams.map((s) => [streamKey(s.sequencer, s.epoch), s.next]));
    const coveredByEnd = (s: SlotId) => s.seq < (endNext.get(streamKey(s.sequencer, s.epoch)) ?? 1);
    const ours = log.list();
    const target = [
      ...ours.filter((e) => keyAtMost(entryKey(e), cut)),
      ...l.entries.filter((e) => keyBefore(cut, entryKey(e)) && keyAtMost(entryKey(e), l.end.key) && !newNoops.has(slotKey(e.slot))),
    ];
    const beyond = ours.filter((e) => keyBefore(l.end.key, entryKey(e)));
    const reopened = [...log.noops.values()].filter((s) => !newNoops.has(slotKey(s)) && !coveredByEnd(s));
    let i = 0;
    while (i < ours.length && i < target.length && slotKey(ours[i]!.slot) === slotKey(target[i]!.slot)) i++;
    log.rollbackTo(i);
    log.noops = newNoops;
    for (const e of target.slice(i)) r.normal.execute(ctx, e, false);
    log.streams = new Map(l.end.streams.map((s) => [streamKey(s.sequencer, s.epoch), s]));
    log.end = l.end.key;
    r.normal.buffer.rebase(log.end, (s) => log.decided(s));
    r.normal.buffer.reinsert(beyond.filter((e) => !log.decided(e.slot)), reopened, log.end);
    r.txn.forgetDecided();
  }
}
