import type { KvRequest } from '../apps/kv.js';
import { equalBytes, hex } from '../crypto/bytes.js';
import { Backoff } from '../protocol/backoff.js';
import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { batchDigest, signMsg, verifyMsg, verifyOrder } from './auth.js';
import type { IHateThePrimary, NewView, Pom, ViewChange as ViewChangeMsg, ViewConfirm, ZyzzyvaMsg } from './messages.js';
import { type CheckedChange, type NewViewPlan, checkChange, planHistoryAt, planNewView, planTop } from './new-view.js';
import type { ZyzzyvaViewChangeReason } from './replica-params.js';
import type { ZyzzyvaReplica } from './replica.js';

/** The watch timeout doubles per failed view change, at most this many times. */
const MAX_DOUBLINGS = 6;

/**
 * The view change (docs/zyzzyva.md#view-change; SOSP'07 §3.5, TOCS §4.3, the version with
 * I-HATE-THE-PRIMARY): a replica that relayed a request the primary did not order within the
 * timeout hates the primary; f+1 I-HATE-THE-PRIMARY, or a proof of misbehaviour, commit a replica
 * to the view change: it stops taking ORDER-REQs and sends VIEW-CHANGE with its checkpoint, its
 * commit certificate and the batches it ordered since. The new primary sends the 2f+1 it
 * collected as NEW-VIEW; every replica derives the new history (new-view.ts), rolls back what it
 * executed outside it, executes what it lacks, and sends VIEW-CONFIRM; 2f+1 matching ones start
 * the view. A NEW-VIEW that does not come in time moves on to the next view, with the timeout doubled.
 */
export class ViewChange {
  /** Requests relayed to the primary and not yet executed, by client and id. */
  private readonly watched = new Map<string, KvRequest>();
  private armed = false;
  private failed = 0;
  private readonly hates = new Map<number, Votes>();
  private readonly changes = new Map<number, Map<number, { msg: ViewChangeMsg; checked: CheckedChange }>>();
  private readonly confirms = new Map<number, Votes<string>>();
  /** Replicas we sent our VIEW-CONFIRM again this view (a late one needs ours; once each). */
  private readonly confirmedTo = new Set<number>();
  private own: ViewChangeMsg | null = null;
  private newView: NewView | null = null;
  private plan: NewViewPlan | null = null;
  private confirm: ViewConfirm | null = null;
  /** VIEW-CHANGE, NEW-VIEW and VIEW-CONFIRM are sent again with exponential backoff while the view waits. */
  private readonly resend: Backoff<string>;

  constructor(private readonly r: ZyzzyvaReplica) {
    this.resend = new Backoff(r.p.retryUs, 16 * r.p.retryUs);
  }

  private timeout(): number {
    return this.r.p.viewChangeUs * 2 ** Math.min(this.failed, MAX_DOUBLINGS);
  }

  /** A request relayed to the primary: the primary is hated if it is not executed in time. */
  watch(ctx: Ctx<ZyzzyvaMsg>, q: KvRequest, _payload: Uint8Array): void {
    if (this.r.n === 1) return;
    this.watched.set(`${q.client}:${q.requestId}`, q);
    if (!this.armed && this.r.active) {
      this.armed = true;
      ctx.setTimer('hate', this.timeout());
    }
  }

  /** Whether relayed requests wait to be executed. */
  get watching(): boolean {
    return this.watched.size > 0;
  }

  releaseAnswered(ctx: Ctx<ZyzzyvaMsg>): void {
    for (const [k, q] of this.watched) if (this.r.store.answered(q.client, q.requestId)) this.watched.delete(k);
    if (this.watched.size === 0 && this.armed) {
      this.armed = false;
      ctx.cancelTimer('hate');
    }
  }

  onWatchTimeout(ctx: Ctx<ZyzzyvaMsg>): void {
    const r = this.r;
    this.armed = false;
    this.releaseAnswered(ctx);
    if (!r.active || this.watched.size === 0 || r.primary) return;
    const hate = signMsg<IHateThePrimary>({ type: 'i-hate-the-primary', view: r.view, replica: r.me, sig: new Uint8Array() }, r.p.keys);
    ctx.multicast(r.others(), hate);
    this.countHate(ctx, hate);
    this.armed = true;
    ctx.setTimer('hate', this.timeout());
  }

  onHate(ctx: Ctx<ZyzzyvaMsg>, m: IHateThePrimary): void {
    if (!verifyMsg(m, this.r.p.keys)) return this.r.obs.invalid('bad-signature');
    this.countHate(ctx, m);
  }

  private countHate(ctx: Ctx<ZyzzyvaMsg>, m: IHateThePrimary): void {
    const r = this.r;
    if (m.view < r.view || (m.view === r.view && !r.active)) return;
    let votes = this.hates.get(m.view);
    if (!votes) this.hates.set(m.view, (votes = new Votes(r.f + 1)));
    votes.add(m.replica, true);
    if (votes.reached) this.start(ctx, m.view + 1, 'i-hate-the-primary');
  }

  /** POM: two ORDER-REQs of one primary for one sequence number with different histories. */
  onPom(ctx: Ctx<ZyzzyvaMsg>, m: Pom): void {
    const r = this.r;
    const { a, b } = m;
    const primary = r.primaryOf(a.view);
    if (a.view !== b.view || a.seq !== b.seq || equalBytes(a.history, b.history) || !verifyOrder(a, primary, r.p.keys) || !verifyOrder(b, primary, r.p.keys)) {
      return r.obs.invalid('bad-pom');
    }
    if (a.view < r.view || (a.view === r.view && !r.active)) return;
    ctx.multicast(r.others(), m);
    this.start(ctx, a.view + 1, 'proof-of-misbehaviour');
  }

  /** Commits to the view change to `view` (§3.5): ORDER-REQs of the old view are no longer taken. */
  start(ctx: Ctx<ZyzzyvaMsg>, view: number, reason: ZyzzyvaViewChangeReason): void {
    const r = this.r;
    if (view <= r.view) return;
    this.leave(ctx, view);
    r.obs.viewChanged(view, reason);
    this.own = signMsg<ViewChangeMsg>({
      type: 'view-change', view, replica: r.me, checkpoint: r.history.base.proof, cc: r.commit.certificateAbove(r.history.base.seq),
      ordered: r.history.ordered().map((e) => ({ seq: e.seq, view: e.view, history: e.history, batch: e.batch })), sig: new Uint8Array(),
    }, r.p.keys);
    ctx.multicast(r.others(), this.own);
    this.onViewChange(ctx, this.own);
  }

  /** Leaves the running view for `view`, not yet started. */
  private leave(ctx: Ctx<ZyzzyvaMsg>, view: number): void {
    const r = this.r;
    r.view = view;
    r.active = false;
    r.agreement.takeQueue();
    r.agreement.dropEarly();
    this.watched.clear();
    this.armed = false;
    ctx.cancelTimer('hate');
    this.own = this.newView = this.plan = this.confirm = null;
    this.resend.clear();
    this.confirmedTo.clear();
    for (const m of [this.hates, this.changes, this.confirms]) for (const v of m.keys()) if (v < view) m.delete(v);
    ctx.setTimer('new-view', this.timeout());
  }

  onViewChange(ctx: Ctx<ZyzzyvaMsg>, m: ViewChangeMsg): void {
    const r = this.r;
    if (m !== this.own && !verifyMsg(m, r.p.keys)) return r.obs.invalid('bad-signature');
    if (m.view < r.view) return;
    if (m.view === r.view && r.active) {
      // A replica that missed the NEW-VIEW asks again with its VIEW-CHANGE.
      if (r.primary && this.newView) ctx.send(r.p.replicas[m.replica]!, this.newView);
      return;
    }
    const checked = checkChange(m, r.f, r.p.keys);
    if (!checked) return r.obs.invalid('bad-view-change');
    let at = this.changes.get(m.view);
    if (!at) this.changes.set(m.view, (at = new Map()));
    at.set(m.replica, { msg: m, checked });
    if (m.view > r.view) return this.joinChange(ctx);
    this.sendNewView(ctx);
  }

  /** f+1 replicas (one correct) changing to later views: we change too, to the lowest of the f+1 highest. */
  private joinChange(ctx: Ctx<ZyzzyvaMsg>): void {
    const r = this.r;
    const highest = new Map<number, number>();
    for (const [view, at] of this.changes) if (view > r.view) for (const replica of at.keys()) highest.set(replica, Math.max(highest.get(replica) ?? 0, view));
    const views = [...highest.values()].sort((a, b) => b - a);
    if (views.length > r.f) this.start(ctx, views[r.f]!, 'joined');
  }

  /** The new primary, with 2f+1 VIEW-CHANGEs (its own among them), sends NEW-VIEW. */
  private sendNewView(ctx: Ctx<ZyzzyvaMsg>): void {
    const r = this.r;
    const at = this.changes.get(r.view);
    if (!r.primary || r.active || this.newView || !this.own || !at || at.size < 2 * r.f + 1) return;
    const changes = [this.own, ...[...at.values()].map((c) => c.msg).filter((m) => m.replica !== r.me)].slice(0, 2 * r.f + 1);
    const nv = signMsg<NewView>({ type: 'new-view', view: r.view, replica: r.me, changes, sig: new Uint8Array() }, r.p.keys);
    ctx.multicast(r.others(), nv);
    this.accept(ctx, nv, changes.map((m) => at.get(m.replica)!.checked));
  }

  onNewView(ctx: Ctx<ZyzzyvaMsg>, m: NewView): void {
    const r = this.r;
    if (m.view < r.view || (m.view === r.view && (r.active || this.newView))) return;
    if (m.replica !== r.primaryOf(m.view) || !verifyMsg(m, r.p.keys)) return r.obs.invalid('bad-signature');
    const senders = new Votes(2 * r.f + 1);
    const checked: CheckedChange[] = [];
    for (const c of m.changes) {
      const vote = senders.add(c.replica, true);
      const cc = c.view === m.view && (vote === 'counted' || vote === 'reached') && verifyMsg(c, r.p.keys) ? checkChange(c, r.f, r.p.keys) : null;
      if (!cc) return r.obs.invalid('bad-new-view');
      checked.push(cc);
    }
    if (!senders.reached) return r.obs.invalid('bad-new-view');
    if (m.view > r.view) {
      this.leave(ctx, m.view);
      r.obs.viewChanged(m.view, 'joined');
    }
    this.accept(ctx, m, checked);
  }

  private accept(ctx: Ctx<ZyzzyvaMsg>, m: NewView, checked: CheckedChange[]): void {
    this.newView = m;
    this.plan = planNewView(checked, this.r.f);
    this.applyPlan(ctx);
  }

  /**
   * The NEW-VIEW's history taken (§3.5): rolled back to the highest point both histories hold
   * alike, what the plan has above it executed. A replica holding no such point (it is behind
   * the plan's checkpoint, or diverged below what it can roll back) takes a state first.
   */
  private applyPlan(ctx: Ctx<ZyzzyvaMsg>): void {
    const r = this.r;
    const plan = this.plan;
    if (!plan || this.confirm) return;
    const top = planTop(plan);
    let common = r.history.base.seq >= top ? r.history.top : -1;
    for (let s = Math.min(r.history.top, top); common < 0 && s >= Math.max(r.history.base.seq, plan.base.seq); s--) {
      const mine = r.history.historyAt(s);
      const theirs = planHistoryAt(plan, s);
      if (mine && theirs && equalBytes(mine, theirs)) common = s;
    }
    if (common < 0) return r.stateTransfer.request(ctx);
    const undone = r.history.rollBackTo(common, r.store);
    if (undone > 0) r.obs.rolledBack(undone);
    r.agreement.forgetAbove(common);
    r.checkpoint.forgetAbove(common);
    for (const e of plan.entries) {
      if (e.seq <= r.history.top) continue;
      const order = r.primary ? r.agreement.order(e) : null;
      r.agreement.execute(ctx, { seq: e.seq, view: r.view, history: e.history, digest: batchDigest(e.batch), batch: e.batch, order, undo: [] });
    }
    this.confirm = signMsg<ViewConfirm>({ type: 'view-confirm', view: r.view, seq: top, history: planHistoryAt(plan, top)!, replica: r.me, sig: new Uint8Array() }, r.p.keys);
    ctx.multicast(r.others(), this.confirm);
    this.onViewConfirm(ctx, this.confirm);
  }

  /** A state was taken: a NEW-VIEW waiting for it is applied now. */
  stateTaken(ctx: Ctx<ZyzzyvaMsg>): void {
    if (!this.r.active) this.applyPlan(ctx);
  }

  onViewConfirm(ctx: Ctx<ZyzzyvaMsg>, m: ViewConfirm): void {
    const r = this.r;
    if (m !== this.confirm && !verifyMsg(m, r.p.keys)) return r.obs.invalid('bad-signature');
    if (m.view > r.view) return r.recovery.witnessed(ctx, m.replica, m.view);
    if (m.view < r.view) return;
    if (r.active) {
      if (this.confirm && !this.confirmedTo.has(m.replica) && m.replica !== r.me) {
        this.confirmedTo.add(m.replica);
        ctx.send(r.p.replicas[m.replica]!, this.confirm);
      }
      return;
    }
    let votes = this.confirms.get(m.view);
    if (!votes) this.confirms.set(m.view, (votes = new Votes(2 * r.f + 1)));
    votes.set(m.replica, `${m.seq}:${hex(m.history)}`);
    const mine = this.confirm && `${this.confirm.seq}:${hex(this.confirm.history)}`;
    if (mine && votes.reachedBy((k) => k === mine)) this.enter(ctx);
  }

  /** 2f+1 matching VIEW-CONFIRMs: the view runs. */
  private enter(ctx: Ctx<ZyzzyvaMsg>): void {
    const r = this.r;
    r.active = true;
    this.failed = 0;
    ctx.cancelTimer('new-view');
    r.recovery.forget();
    r.obs.viewStarted(r.view);
    r.agreement.drain(ctx);
  }

  onNewViewTimeout(ctx: Ctx<ZyzzyvaMsg>): void {
    if (this.r.active) return;
    this.failed++;
    this.start(ctx, this.r.view + 1, 'new-view-timeout');
  }

  /**
   * Joins a view f+1 others run (recovery.ts): the speculative history above the base goes (the
   * view's history may differ), and the replica catches up from the primary and by state transfer.
   */
  join(ctx: Ctx<ZyzzyvaMsg>, view: number): void {
    const r = this.r;
    if (view <= r.view) return;
    this.leave(ctx, view);
    ctx.cancelTimer('new-view');
    const undone = r.history.rollBackTo(r.history.base.seq, r.store);
    if (undone > 0) r.obs.rolledBack(undone);
    r.agreement.forgetAbove(r.history.base.seq);
    r.checkpoint.forgetAbove(r.history.base.seq);
    r.active = true;
    r.obs.viewChanged(view, 'joined');
    r.obs.viewStarted(view);
    r.stateTransfer.request(ctx);
  }

  /** The retry period: what the view change waits for is sent again, with backoff. */
  tick(ctx: Ctx<ZyzzyvaMsg>): void {
    const r = this.r;
    if (r.active) return;
    const due = (m: ZyzzyvaMsg | null) => m !== null && this.resend.due(m.type, ctx.now);
    if (!this.newView && due(this.own)) ctx.multicast(r.others(), this.own!);
    if (r.primary && due(this.newView)) ctx.multicast(r.others(), this.newView!);
    if (due(this.confirm)) ctx.multicast(r.others(), this.confirm!);
    if (this.newView && !this.confirm) this.applyPlan(ctx);
  }
}
