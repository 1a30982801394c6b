import { equalBytes } from '../crypto/bytes.js';
import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { signPbft, verifyPbft, viewChangeDigest } from './auth.js';
import type { NewView, PbftMsg, ViewChange as SignedViewChange, ViewChangeFetch } from './messages.js';
import { type NewViewPlan, planNewView, viewChangeFault } from './new-view.js';
import type { PbftViewChangeReason } from './replica-params.js';
import type { PbftReplica } from './replica.js';

/**
 * View change (docs/pbft.md#view-change; OSDI'99 §4.4, with MAC-authenticated certificates as in
 * TOCS §4.4, liveness as in OSDI'99 §4.5.2): a backup that saw a request and does not see it
 * executed within the timeout moves to the next view and multicasts a signed VIEW-CHANGE with its
 * stable checkpoint, P and Q. The new primary's NEW-VIEW names the VIEW-CHANGEs it rests on, and
 * every replica derives the view's pre-prepares from them by the same rule (new-view.ts).
 */
export class ViewChange {
  /** The VIEW-CHANGEs held, by view and sender (2f+1 for a view start its NEW-VIEW). */
  private readonly changes = new Map<number, Votes<SignedViewChange>>();
  /** The NEW-VIEW that started the current view (resent to replicas still asking for it). */
  private newView: NewView | null = null;
  /** A NEW-VIEW whose VIEW-CHANGEs are still being fetched. */
  private pendingNewView: NewView | null = null;
  /** Requests a client sent to this backup directly, by client, until executed: what the timer guards. */
  private readonly waiting = new Map<number, { requestId: number; payload: Uint8Array }>();
  private timerArmed = false;
  private timeoutUs: number;

  constructor(private readonly r: PbftReplica) {
    this.timeoutUs = r.p.viewChangeUs;
  }

  /** A backup got a client's request: it guards it until it executes (the latest per client). */
  watch(client: number, requestId: number, payload: Uint8Array): void {
    const known = this.waiting.get(client);
    if (!known || known.requestId < requestId) this.waiting.set(client, { requestId, payload });
  }

  armTimer(ctx: Ctx<PbftMsg>): void {
    if (this.timerArmed || !this.r.active || this.r.primary) return;
    this.timerArmed = true;
    ctx.setTimer('view-change', this.timeoutUs);
  }

  /**
   * Requests this backup watched that have executed (here or in a transferred state) stop
   * guarding the primary: the timeout resets, and the timer restarts for any still waiting.
   */
  releaseAnswered(ctx: Ctx<PbftMsg>): void {
    let released = false;
    for (const [client, w] of this.waiting) {
      if (this.r.store.answered(client, w.requestId)) {
        this.waiting.delete(client);
        released = true;
      }
    }
    if (!released || !this.r.active) return;
    this.timeoutUs = this.r.p.viewChangeUs;
    ctx.cancelTimer('view-change');
    this.timerArmed = false;
    if (this.waiting.size > 0) this.armTimer(ctx);
  }

  onTimeout(ctx: Ctx<PbftMsg>): void {
    const r = this.r;
    this.timerArmed = false;
    if (r.active) this.start(ctx, r.view + 1, 'request-timeout');
    else if (this.changes.get(r.view)?.reached) {
      this.timeoutUs *= 2;
      this.start(ctx, r.view + 1, 'new-view-timeout');
    } else {
      // OSDI'99 §4.5.2: the next view is tried only once 2f+1 replicas wanted this one and its
      // NEW-VIEW did not come within a timeout of that (the timer restarts when the 2f+1-th
      // VIEW-CHANGE arrives). A replica that timed out alone waits for the others (f+1 of them
      // moving on bring it along): running up views nobody joined, it was left in a view above
      // everyone's for good.
      this.timerArmed = true;
      ctx.setTimer('view-change', this.timeoutUs);
    }
  }

  /** The retry period while waiting for a NEW-VIEW: our VIEW-CHANGE may have been lost, or the NEW-VIEW on its way to us. */
  tick(ctx: Ctx<PbftMsg>): void {
    const mine = this.changes.get(this.r.view)?.get(this.r.me);
    if (mine) ctx.multicast(this.r.others(), mine);
    if (this.pendingNewView) this.onNewView(ctx, this.pendingNewView);
  }

  /** Moves to `target` (> view): stops the normal case and sends a signed VIEW-CHANGE with P, Q and the stable checkpoint. */
  start(ctx: Ctx<PbftMsg>, target: number, reason: PbftViewChangeReason): void {
    const r = this.r;
    if (target <= r.view || r.n === 1) return;
    r.view = target;
    r.active = false;
    this.pendingNewView = null;
    ctx.cancelTimer('batch');
    r.obs.viewChanged(target, reason);
    const vc = signPbft<SignedViewChange>({
      type: 'view-change', view: target, replica: r.me, checkpoint: r.checkpoint.stable.proof, ...r.log.claims(), sig: new Uint8Array(),
    }, r.p.keys);
    this.changesOf(target).set(r.me, vc);
    for (const v of this.changes.keys()) if (v < target) this.changes.delete(v);
    ctx.multicast(r.others(), vc);
    ctx.cancelTimer('view-change');
    this.timerArmed = true;
    ctx.setTimer('view-change', this.timeoutUs);
    if (r.primary) this.tryNewView(ctx);
  }

  /** Joins `view` as a backup without its NEW-VIEW (f+1 others show it: recovery.ts); its VIEW-CHANGEs and older ones go. */
  join(ctx: Ctx<PbftMsg>, view: number): void {
    this.r.view = view;
    for (const v of this.changes.keys()) if (v <= view) this.changes.delete(v);
    this.r.obs.viewChanged(view, 'joined');
    this.enter(ctx, null);
    if (this.waiting.size > 0) this.armTimer(ctx);
  }

  onFetch(ctx: Ctx<PbftMsg>, m: ViewChangeFetch): void {
    const vc = this.changes.get(m.view)?.get(m.wanted);
    const to = this.r.p.replicas[m.replica];
    if (vc && to !== undefined) ctx.send(to, vc);
  }

  onViewChange(ctx: Ctx<PbftMsg>, m: SignedViewChange): void {
    const r = this.r;
    if (m.view < r.view || (m.replica === r.me && !this.namedByPendingNewView(m))) return;
    const fault = viewChangeFault(m, r.f, r.p.keys);
    if (fault) return r.obs.invalid(`view-change-${fault}`);
    if (m.replica === r.me) {
      this.changesOf(m.view).set(m.replica, m);
      return this.onNewView(ctx, this.pendingNewView!);
    }
    if (m.view === r.view && r.active) {
      // The sender has not seen the NEW-VIEW of the view we are running.
      if (r.primary && this.newView) ctx.send(r.p.replicas[m.replica]!, this.newView);
      return;
    }
    this.hold(ctx, m);
    this.joinLater(ctx);
    if (m.view === r.view && !r.active) {
      if (r.primary) this.tryNewView(ctx);
      else if (this.pendingNewView?.view === m.view) this.onNewView(ctx, this.pendingNewView);
    }
  }

  /** Keeps another replica's VIEW-CHANGE (its first for the view). */
  private hold(ctx: Ctx<PbftMsg>, m: SignedViewChange): void {
    // The view we wait for now has 2f+1 VIEW-CHANGEs: its NEW-VIEW gets a whole timeout from here.
    if (this.changesOf(m.view).add(m.replica, m) === 'reached' && m.view === this.r.view && !this.r.active) {
      this.timerArmed = true;
      ctx.setTimer('view-change', this.timeoutUs);
    }
  }

  /** f+1 replicas want a later view: at least one correct one does, so join the smallest of them. */
  private joinLater(ctx: Ctx<PbftMsg>): void {
    const ahead = new Votes<number>(this.r.f + 1);
    const later = [...this.changes.keys()].filter((v) => v > this.r.view).sort((a, b) => a - b);
    // A replica's first vote stands: the smallest later view it wants.
    for (const v of later) for (const replica of this.changes.get(v)!.senders()) ahead.add(replica, v);
    if (ahead.reached) this.start(ctx, Math.min(...ahead.values()), 'joined');
  }

  private changesOf(view: number): Votes<SignedViewChange> {
    let m = this.changes.get(view);
    if (!m) this.changes.set(view, (m = new Votes(2 * this.r.f + 1)));
    return m;
  }

  /**
   * Our own VIEW-CHANGE as the NEW-VIEW we wait on names it: sent by an earlier incarnation of
   * ours (we restarted with empty state and sent another for the same view), fetched from the
   * new primary. The view was formed with it, so we take it in place of ours; refused, the
   * NEW-VIEW never matched and we sat out the view, then ran ahead into the next alone.
   */
  private namedByPendingNewView(m: SignedViewChange): boolean {
    const nv = this.pendingNewView;
    return nv !== null && nv.view === m.view && nv.changes.some((c) => c.replica === m.replica && equalBytes(c.digest, viewChangeDigest(m)));
  }

  /** The new primary: once the VIEW-CHANGEs it holds decide every slot, it announces the view. */
  private tryNewView(ctx: Ctx<PbftMsg>): void {
    const r = this.r;
    const changes = this.changesOf(r.view).values();
    const plan = planNewView(changes, r.f, r.p.keys);
    if (!plan) return;
    const nv = signPbft<NewView>({
      type: 'new-view', view: r.view, replica: r.me, changes: changes.map((c) => ({ replica: c.replica, digest: viewChangeDigest(c) })), sig: new Uint8Array(),
    }, r.p.keys);
    ctx.multicast(r.others(), nv);
    this.install(ctx, plan, nv);
  }

  onNewView(ctx: Ctx<PbftMsg>, m: NewView): void {
    const r = this.r;
    if (m.view < r.view || (m.view === r.view && r.active)) return;
    if (m.replica !== r.primaryOf(m.view) || m.replica === r.me) return r.obs.invalid('new-view-from-non-primary');
    if (!verifyPbft(m, r.p.keys)) return r.obs.invalid('bad-signature');
    if (new Set(m.changes.map((c) => c.replica)).size !== m.changes.length) return r.obs.invalid('new-view-duplicate-change');
    const changes = this.named(ctx, m);
    if (!changes) {
      this.pendingNewView = m;
      return;
    }
    const plan = planNewView(changes, r.f, r.p.keys);
    if (!plan) return r.obs.invalid('new-view-undecided');
    if (m.view > r.view) {
      r.view = m.view;
      r.obs.viewChanged(m.view, 'joined');
    }
    this.install(ctx, plan, m);
  }

  /** The VIEW-CHANGEs a NEW-VIEW names, or null while some are missing (each asked of its primary). */
  private named(ctx: Ctx<PbftMsg>, m: NewView): SignedViewChange[] | null {
    const held = this.changes.get(m.view);
    const changes: SignedViewChange[] = [];
    let missing = false;
    for (const ref of m.changes) {
      const vc = held?.get(ref.replica);
      if (vc && equalBytes(viewChangeDigest(vc), ref.digest)) changes.push(vc);
      else {
        missing = true;
        ctx.send(this.r.p.replicas[m.replica]!, { type: 'view-change-fetch', view: m.view, replica: this.r.me, wanted: ref.replica });
      }
    }
    return missing ? null : changes;
  }

  /** Starts the view: every slot of the plan is pre-prepared again in it, and the normal case resumes. */
  private install(ctx: Ctx<PbftMsg>, plan: NewViewPlan, nv: NewView): void {
    const r = this.r;
    this.enter(ctx, nv);
    r.checkpoint.makeStable(ctx, plan.stable);
    r.normal.reproposed(ctx, plan.slots);
    r.seq = Math.max(r.checkpoint.stable.seq, r.executed, plan.slots.at(-1)?.seq ?? 0);
    if (r.executed < r.checkpoint.stable.seq) r.stateTransfer.request(ctx);
    // Requests this replica knows of go to the new primary (or into its own queue).
    const known = [...r.normal.takeQueue(), ...[...this.waiting.values()].map((w) => w.payload)];
    if (r.primary) this.waiting.clear();
    for (const payload of known) r.normal.onRequest(ctx, payload);
    r.normal.resume(ctx);
  }

  /** Runs the current view from here (started by `nv`, or joined without it): the timer stops, the older views' instances go. */
  private enter(ctx: Ctx<PbftMsg>, nv: NewView | null): void {
    const r = this.r;
    r.active = true;
    r.recovery.forget();
    this.newView = nv;
    this.pendingNewView = null;
    r.obs.viewStarted(r.view);
    ctx.cancelTimer('view-change');
    this.timerArmed = false;
    r.log.clear();
  }
}
