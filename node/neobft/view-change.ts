import { hex } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { sign, verifySigned } from './auth.js';
import { signedBody } from './codec.js';
import type { OrderedMulticast } from './aom-messages.js';
import type { NeoMsg } from './messages.js';
import type { Confirm, GapVote, LogEntry, View, ViewChange as ViewChangeMsg, ViewChangeFetch, ViewStart } from './protocol-messages.js';
import type { Replica } from './replica.js';
import {
  type CheckedViewChange, type MergedLog, checkEntry, checkViewChange, compareViews, leaderOf, mergeViewChanges, viewKey,
} from './view-change-merge.js';
import { LOG_WINDOW, MAX_EPOCH_SKIP, SYNC_INTERVAL, type ViewChangeReason } from './replica-params.js';

/** A VIEW-CHANGE received, with its digest and checked contents. */
interface Received {
  msg: ViewChangeMsg;
  digest: string;
  checked: CheckedViewChange;
}

/**
 * View change and epoch change (NeoBFT §5; docs/neobft.md#view-change-and-epoch-change): a
 * leader that stops settling slots, or a sequencer that stops ordering, is replaced:
 * ⟨VIEW-CHANGE⟩ to every replica, the new leader's ⟨VIEW-START⟩ naming 2f+1 of them, every
 * replica merging the same logs (view-change-merge.ts). A view change into a new epoch installs
 * the next sequencer with its own keys.
 */
export class ViewChange {
  /** The view being moved to while status is view-change. */
  target: View;
  /**
   * View changes since the last progress (a sync point made final in the current view): every
   * timeout doubles with each (PBFT §4.5.2: a replica waits 2T for view v+2 after view v+1 did
   * not bring progress). Reset when the view starts, a slow testbed — members started apart,
   * a view change slower than the timeout on a loaded host — changed views faster than any view
   * could settle, and the replicas never again agreed on one.
   */
  private attempts = 0;
  /** When the current view started (its epoch's certificate is due within a timeout). */
  viewStartedAt = 0;
  /** VIEW-CHANGEs by target view, one per sender (the first). */
  private readonly received = new Map<string, Votes<Received>>();
  private mine: ViewChangeMsg | null = null;
  private myStart: ViewStart | null = null;
  /** A VIEW-START waiting for VIEW-CHANGEs we have not received. */
  private pendingStart: ViewStart | null = null;
  /** The first epoch found without keys (reported once). */
  private keysExhausted = 0;

  constructor(private readonly r: Replica) {
    this.target = r.view;
  }

  /** The suspicion and view-change timeout, doubled per view change without progress (at most 64×). */
  get timeoutUs(): number {
    return this.r.p.viewChangeUs * 2 ** Math.min(Math.max(this.attempts - 1, 0), 6);
  }

  /** A sync point became final in the current view: timeouts are back to their base. */
  progressed(): void {
    this.attempts = 0;
  }

  /**
   * The epoch a sequencer change moves to: the next one whose sequencer was not seen
   * equivocating (re-choosing a lying sequencer only buys another detection timeout), or simply
   * the next if every sequencer was. Replicas that differ on it converge on the highest view
   * asked for, as in any split view change; epoch numbers carry no meaning beyond their order.
   */
  nextEpoch(): number {
    const e = this.r.view.epoch;
    for (let next = e + 1; next <= e + MAX_EPOCH_SKIP; next++) if (!this.r.confirms.equivocators.has(this.r.p.sequencerNode(next))) return next;
    return e + 1;
  }

  /** Starts a view change when the leader or the sequencer stopped making progress; true if it did. */
  suspect(ctx: Ctx<NeoMsg>): boolean {
    const r = this.r;
    // A mute replica's suspicion counts for nothing (it sends no VIEW-CHANGE): it follows the others.
    if (r.mute) return false;
    const limit = ctx.now - this.timeoutUs;
    // Slots a correct replica made final already are late here, not lost by the leader or the
    // sequencer: blaming them would start a view change the others never join (they see no
    // fault), and this replica would wait in it for good. It catches up instead.
    const finalElsewhere = r.sync.finalElsewhere();
    if (this.leaderStalled(ctx, limit, finalElsewhere)) {
      this.start(ctx, { epoch: r.view.epoch, leader: r.view.leader + 1 }, 'leader');
      return true;
    }
    // Until the epoch is certified its messages wait here: that is not the sequencer's fault.
    if (r.sync.certifiedEpoch < r.view.epoch || !this.sequencerStalled(limit, finalElsewhere)) return false;
    this.start(ctx, { epoch: this.nextEpoch(), leader: r.view.leader }, 'sequencer');
    return true;
  }

  private leaderStalled(ctx: Ctx<NeoMsg>, limit: number, finalElsewhere: number): boolean {
    const r = this.r;
    for (const [slot, since] of r.log.missingSince) {
      if (since > limit || slot > r.sync.point + LOG_WINDOW || slot <= finalElsewhere) continue;
      return true;
    }
    // A full log window whose sync point does not move, or an epoch whose certificate does not
    // form: the SYNC quorum is not forming (a replica is stuck behind, or alone in a view change
    // the others never joined); a new view's merge brings everyone to the same log.
    const deferredSince = r.normal.deferredSince;
    const windowStuck = deferredSince !== null && deferredSince <= limit && finalElsewhere <= r.sync.point;
    if (windowStuck || (r.sync.certifiedEpoch < r.view.epoch && this.viewStartedAt <= limit)) {
      if (windowStuck) r.normal.deferredSince = ctx.now;
      this.viewStartedAt = ctx.now;
      return true;
    }
    return false;
  }

  private sequencerStalled(limit: number, finalElsewhere: number): boolean {
    const r = this.r;
    // Byzantine-network mode: a slot 2f+1 replicas never confirmed alike (an equivocating
    // sequencer splits them) is the sequencer's doing.
    if (r.confirms.stalled(limit, finalElsewhere)) return true;
    for (const { since } of r.clients.direct.values()) {
      if (since > limit || finalElsewhere > r.log.executed) continue;
      return true;
    }
    return false;
  }

  start(ctx: Ctx<NeoMsg>, target: View, reason: ViewChangeReason): void {
    const r = this.r;
    if (compareViews(target, r.status === 'view-change' ? this.target : r.view) <= 0) return;
    if (!r.p.authFor(target.epoch)) {
      if (this.keysExhausted < target.epoch) r.obs.invalid('no-keys-for-next-epoch');
      this.keysExhausted = target.epoch;
      r.clients.direct.clear();
      return;
    }
    r.status = 'view-change';
    this.target = target;
    this.myStart = null;
    this.pendingStart = null;
    // A mute replica follows the view change without a VIEW-CHANGE of its own: its log may lack what it accepted before its restart.
    const vc = r.mute ? null : sign(this.build(target), r.p.keys);
    this.mine = vc;
    if (vc) ctx.multicast(r.others(), vc);
    r.obs.viewChanged(target, reason);
    this.attempts++;
    ctx.setTimer('view-change', this.timeoutUs);
    if (vc) this.onViewChange(ctx, vc);
  }

  /** Every VIEW-CHANGE received, of any view. */
  private all(): Received[] {
    return [...this.received.values()].flatMap((v) => v.values());
  }

  onTimeout(ctx: Ctx<NeoMsg>): void {
    if (this.r.status !== 'view-change') return;
    // Move past the new leader only once a quorum wanted its view and it still did not start
    // it (as in PBFT): a replica that suspected alone waits for the others instead of racing ahead.
    if (!this.received.get(viewKey(this.target))?.reached) {
      // Correct replicas can split (one gave up on the leader, another on the sequencer, at
      // once) so that no view gathers a quorum alone: then join the smallest view above ours
      // that another replica asked for. Views only go up, so the split ends.
      const above = this.all().map((x) => x.msg.view).filter((v) => compareViews(v, this.target) > 0).sort(compareViews)[0];
      if (above) return this.start(ctx, above, 'joined');
      ctx.setTimer('view-change', this.timeoutUs);
      return;
    }
    this.start(ctx, { epoch: this.target.epoch, leader: this.target.leader + 1 }, 'timeout');
  }

  resend(ctx: Ctx<NeoMsg>): void {
    const r = this.r;
    if (!r.resends.due(`change/${viewKey(this.target)}`, ctx.now)) return;
    if (this.mine) ctx.multicast(r.others(), this.mine);
    const vs = this.pendingStart;
    if (vs) {
      for (const ref of vs.refs) {
        if (!this.received.get(viewKey(vs.view))?.get(ref.replica)) {
          ctx.send(r.p.replicas[vs.replica]!, { type: 'view-change-fetch', view: vs.view, replica: r.p.index, of: ref.replica });
        }
      }
    }
  }

  /** The new leader keeps announcing its view start until the view is settled. */
  resendStart(ctx: Ctx<NeoMsg>): void {
    const r = this.r;
    if (this.myStart && compareViews(this.myStart.view, r.view) === 0 && r.resends.due(`start/${viewKey(r.view)}`, ctx.now)) {
      ctx.multicast(r.others(), this.myStart);
    }
  }

  /** Our log as a VIEW-CHANGE carries it: the certified interval, then each entry with its proof. */
  private build(target: View): ViewChangeMsg {
    const r = this.r;
    const log = r.log;
    const point = r.sync.point;
    const entries: LogEntry[] = [];
    let first = point;
    while (first > 0 && point - first < SYNC_INTERVAL && log.slots[first]?.digest === undefined && log.slots[first] && log.hashes[first - 1]) first--;
    if (first < point && !log.slots[first + 1]) first = point;
    for (let slot = first + 1; slot <= point; slot++) {
      const e = log.slots[slot]!;
      entries.push(e.oc ? { kind: 'message', slot, oc: e.oc, confirms: [] } : { kind: 'no-op', slot, commits: [] });
    }
    const top = Math.min(log.slots.length - 1, point + LOG_WINDOW);
    for (let slot = point + 1; slot <= top; slot++) {
      const e = log.slots[slot];
      if (!e) continue;
      if (e.oc) entries.push({ kind: 'message', slot, oc: e.oc, confirms: r.p.byzantineNetwork ? (e.proof as Confirm[]) ?? [] : [] });
      else if (e.proof) entries.push({ kind: 'no-op', slot, commits: e.proof as GapVote[] });
    }
    const vc: ViewChangeMsg = {
      type: 'view-change', view: target, replica: r.p.index, cert: r.sync.cert, base: log.hashes[first] ?? new Uint8Array(32),
      entries, tailSign: r.lastSign, sig: new Uint8Array(64),
    };
    // Leave out entries others could not verify (a PK message whose proof we no longer hold):
    // checked the same way others will check them.
    const env = r.checkEnv();
    for (let i = entries.length - 1; i >= 0 && entries[i]!.slot > point; i--) {
      if (checkEntry(vc, i, r.sync.finalPoint(), env)) entries.splice(i, 1);
    }
    if (!r.lastSign || entries.at(-1)?.kind !== 'message') vc.tailSign = null;
    return vc;
  }

  onViewChange(ctx: Ctx<NeoMsg>, vc: ViewChangeMsg): void {
    const r = this.r;
    if (vc.replica >= r.p.replicas.length) return r.obs.invalid('bad-view-change');
    if (compareViews(vc.view, r.view) <= 0) {
      // A replica still changing to the view we are in missed its start: send it again.
      if (r.status === 'normal' && compareViews(vc.view, r.view) === 0 && this.myStart) ctx.send(r.p.replicas[vc.replica]!, this.myStart);
      return;
    }
    const key = viewKey(vc.view);
    let votes = this.received.get(key);
    if (votes?.has(vc.replica)) return;
    const digest = hex(sha256(signedBody(vc)));
    const checked = checkViewChange(vc, r.checkEnv());
    if (typeof checked === 'string') {
      r.obs.invalid('bad-view-change');
      return;
    }
    if (!votes) this.received.set(key, (votes = new Votes<Received>(r.quorum)));
    votes.add(vc.replica, { msg: vc, digest, checked });
    if (this.pendingStart && compareViews(this.pendingStart.view, vc.view) === 0) return this.onViewStart(ctx, this.pendingStart);
    // f+1 replicas moving past our view include a correct one: join the smallest such view.
    const current = r.status === 'view-change' ? this.target : r.view;
    const ahead = this.all().filter((x) => compareViews(x.msg.view, current) > 0 && x.msg.replica !== r.p.index);
    const senders = new Votes(r.p.f + 1);
    for (const x of ahead) senders.add(x.msg.replica, true);
    if (senders.reached) {
      const smallest = ahead.map((x) => x.msg.view).sort(compareViews)[0]!;
      this.start(ctx, smallest, 'joined');
      return;
    }
    this.maybeStartView(ctx, vc.view);
  }

  /** As the new leader, with 2f+1 valid VIEW-CHANGEs (ours among them), announce the view. */
  private maybeStartView(ctx: Ctx<NeoMsg>, view: View): void {
    const r = this.r;
    if (r.status !== 'view-change' || compareViews(view, this.target) !== 0 || leaderOf(view, r.p.replicas.length) !== r.p.index) return;
    const vcs = this.received.get(viewKey(view));
    if (!vcs || !vcs.has(r.p.index) || !vcs.reached) return;
    const chosen = vcs.values().sort((a, b) => a.msg.replica - b.msg.replica).slice(0, r.quorum);
    const vs = sign<ViewStart>({
      type: 'view-start', view, replica: r.p.index,
      refs: chosen.map((x) => ({ replica: x.msg.replica, digest: Uint8Array.from(Buffer.from(x.digest, 'hex')) })), sig: new Uint8Array(64),
    }, r.p.keys);
    ctx.multicast(r.others(), vs);
    this.onViewStart(ctx, vs);
  }

  onViewStart(ctx: Ctx<NeoMsg>, vs: ViewStart): void {
    const r = this.r;
    // Any view newer than ours will do, even one below the view we asked for: the quorum that
    // started it did without our log, and we have promised nothing about it.
    if (compareViews(vs.view, r.view) <= 0) return;
    const named = new Votes(r.quorum);
    for (const ref of vs.refs) named.add(ref.replica, true);
    if (vs.replica !== leaderOf(vs.view, r.p.replicas.length) || !verifySigned(vs, r.p.keys) || !named.reached) {
      r.obs.invalid('bad-view-start');
      return;
    }
    const have = this.received.get(viewKey(vs.view));
    const chosen: CheckedViewChange[] = [];
    for (const ref of vs.refs) {
      const x = have?.get(ref.replica);
      if (!x) {
        // Missing one: wait for it (asked from the new leader on every retry).
        if (r.status === 'normal') this.start(ctx, vs.view, 'joined');
        this.pendingStart = vs;
        return;
      }
      if (x.digest !== hex(ref.digest)) {
        r.obs.invalid('bad-view-start');
        return;
      }
      chosen.push(x.checked);
    }
    this.pendingStart = null;
    if (vs.replica === r.p.index) this.myStart = vs;
    this.enterView(ctx, vs.view, mergeViewChanges(chosen));
  }

  onFetch(ctx: Ctx<NeoMsg>, m: ViewChangeFetch): void {
    const x = this.received.get(viewKey(m.view))?.get(m.of);
    if (x && m.replica < this.r.p.replicas.length) ctx.send(this.r.p.replicas[m.replica]!, x.msg);
  }

  /** Adopts the merged log and starts the view (and, with a new epoch, the next sequencer's numbering). */
  private enterView(ctx: Ctx<NeoMsg>, view: View, merged: MergedLog): void {
    const r = this.r;
    const newEpoch = view.epoch > r.view.epoch;
    const reconfirm = this.resetForView(newEpoch, merged);
    r.log.adoptFinalInterval(merged);
    r.log.adoptMerged(ctx, merged, newEpoch);
    if (newEpoch) r.normal.deferred.clear();
    this.settle(ctx, view);
    if (newEpoch) this.installEpoch(ctx, view, merged);
    this.restartClocks(ctx, view);
    this.resume(ctx, merged, newEpoch, reconfirm);
  }

  /** What belongs to the old view goes: open agreements, our confirms, resend schedules, SYNCs past the final point. */
  private resetForView(newEpoch: boolean, merged: MergedLog) {
    const r = this.r;
    r.gaps.newView();
    const reconfirm = r.confirms.newView(newEpoch, merged.last);
    r.resends.clear();
    r.sync.newView(newEpoch);
    return reconfirm;
  }

  /** In the view: normal again, and VIEW-CHANGEs of older views go (this view's stay: a replica that missed some fetches them from us). */
  private settle(ctx: Ctx<NeoMsg>, view: View): void {
    const r = this.r;
    r.view = view;
    r.status = 'normal';
    this.mine = null;
    ctx.cancelTimer('view-change');
    for (const k of [...this.received.keys()]) {
      const [e, l] = k.split('/').map(Number) as [number, number];
      if (compareViews({ epoch: e, leader: l }, view) < 0) this.received.delete(k);
    }
  }

  /**
   * A new epoch's sequencer. An epoch already under way (certified in the merged log: this
   * replica restarted, or was left behind) started where its certificate says, and its
   * sequencer's numbers up to the merged log are settled; taking the merged log's end as the
   * start shifted every slot.
   */
  private installEpoch(ctx: Ctx<NeoMsg>, view: View, merged: MergedLog): void {
    const r = this.r;
    const underWay = merged.final.epoch === view.epoch;
    const start = underWay ? merged.final.epochStart : merged.last;
    r.epochStarts.set(view.epoch, start);
    r.clients.recent.clear();
    r.enterAomEpoch(ctx, view.epoch, r.p.authFor(view.epoch)!);
    if (underWay) r.aom.skipTo(ctx, merged.last - start);
  }

  /** The new leader gets a whole timeout before anyone suspects it. */
  private restartClocks(ctx: Ctx<NeoMsg>, view: View): void {
    const r = this.r;
    for (const slot of r.log.missingSince.keys()) r.log.missingSince.set(slot, ctx.now);
    r.normal.deferredSince = r.normal.deferred.size > 0 ? ctx.now : null;
    this.viewStartedAt = ctx.now;
    r.clients.newView();
    r.obs.viewStarted(view);
  }

  /** Execution goes on in the new view; what is still open is confirmed again, settled by the new leader, or asked of it. */
  private resume(ctx: Ctx<NeoMsg>, merged: MergedLog, newEpoch: boolean, reconfirm: (readonly [number, OrderedMulticast])[]): void {
    const r = this.r;
    const before = r.log.executed;
    r.log.execute(ctx);
    r.clients.renewDirect(ctx);
    // A hole below the merged final point is never settled by gap agreement: take the state.
    if (r.log.executed < merged.final.slot) r.stateTransfer.want(merged.final.slot);
    r.sync.resync(ctx, before, newEpoch);
    if (!newEpoch) r.normal.release(ctx);
    for (const [slot, oc] of reconfirm) if (!r.log.slots[slot] && slot <= r.sync.point + LOG_WINDOW) r.confirms.candidate(ctx, slot, oc);
    for (const slot of r.log.missing) {
      if (slot > r.sync.point + LOG_WINDOW) continue;
      r.gaps.chase(ctx, slot);
    }
  }
}
