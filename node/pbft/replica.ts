import { type KvRequest, KvStore, decodeKvRequest, encodeResult, fromKnownClient } from '../apps/kv.js';
import { equalBytes } from '../crypto/bytes.js';
import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { authenticate, batchDigest, pbftReplyMac, signPbft, verifyAuthenticator, verifyPbft, viewChangeDigest } from './auth.js';
import type {
  NewView, PbftMsg, PbftReply, PhaseVote, PrePrepare, ViewChange,
} from './messages.js';
import { type Instance, PbftLog } from './log.js';
import { type NewViewPlan, planNewView, viewChangeFault } from './new-view.js';
import type { PbftObserver, PbftReplicaParams, PbftViewChangeReason } from './replica-params.js';
import { ViewWitness } from './view-witness.js';
import { CHECKPOINT_INTERVAL, Checkpoints } from './checkpoint.js';
import { StateTransfer } from './state-transfer.js';

export type { PbftObserver, PbftReplicaParams, PbftViewChangeReason } from './replica-params.js';
export { CHECKPOINT_INTERVAL } from './checkpoint.js';

/**
 * Retransmission continues until every replica's commit was seen, or this many periods; a
 * replica still missing a batch after that catches up at the next stable checkpoint by state
 * transfer.
 */
const MAX_RETRIES = 50;

/** Batches the primary keeps in flight before it holds requests back to batch them. */
const PIPELINE = 2;


/** The high-water mark: nothing is ordered this far past the stable checkpoint (bounds a VIEW-CHANGE). */
const WINDOW = 4 * CHECKPOINT_INTERVAL;

/**
 * A PBFT replica (Castro & Liskov): normal case with adaptive batching and MAC authenticators,
 * signed checkpoints every CHECKPOINT_INTERVAL batches with state transfer for laggards, and
 * view changes. The primary of view v is replica v mod n; it orders a request at once while
 * fewer than PIPELINE batches are in flight and batches what arrives meanwhile; a batch is
 * prepared with 2f matching PREPAREs, committed with 2f+1 COMMITs, executed in sequence order.
 * A backup that saw a request and does not see it executed within the view-change timeout
 * moves to the next view; f+1 VIEW-CHANGEs for higher views make a replica join the smallest.
 * With n = 1 and f = 0 it is the unreplicated server: requests execute as they arrive.
 */
export class PbftReplica implements Core<PbftMsg> {
  view = 0;
  /** False between sending a VIEW-CHANGE for `view` and accepting its NEW-VIEW. */
  active = true;
  seq = 0;
  executed = 0;
  readonly log = new PbftLog();
  private queue: Uint8Array[] = [];
  store = new KvStore();
  private readonly changes = new Map<number, Map<number, ViewChange>>();
  /** The NEW-VIEW that started the current view (resent to replicas still asking for it). */
  private newView: NewView | null = null;
  /** A NEW-VIEW whose VIEW-CHANGEs are still being fetched. */
  private pendingNewView: NewView | null = null;
  /** Requests a client sent to this backup directly, by client, until executed: what the view-change timer guards. */
  private readonly waiting = new Map<number, { requestId: number; payload: Uint8Array }>();
  private timerArmed = false;
  private viewChangeUs: number;
  private readonly witness: ViewWitness;
  /** Replicas that voted for sequence numbers we never assigned, in a view we lead (`unassignedVote`). */
  private unassigned = { view: -1, voters: new Set<number>() };

  readonly me: number;
  readonly f: number;
  readonly checkpoint: Checkpoints;
  readonly stateTransfer: StateTransfer;

  constructor(readonly p: PbftReplicaParams, readonly obs: PbftObserver) {
    this.me = p.index;
    this.f = p.f;
    this.checkpoint = new Checkpoints(this);
    this.stateTransfer = new StateTransfer(this);
    this.viewChangeUs = p.viewChangeUs;
    this.witness = new ViewWitness(p.f);
  }

  /** The view this replica runs, and whether it is still waiting for that view's NEW-VIEW. */
  get currentView(): { view: number; active: boolean } {
    return { view: this.view, active: this.active };
  }

  /** Batches executed so far, and the key-value contents (to compare replicas in tests). */
  get progressState(): { executed: number; contents: string } {
    return { executed: this.executed, contents: JSON.stringify(this.store.snapshot().data) };
  }

  /** Protocol instances held (executed ones go at each stable checkpoint). */
  get instances(): number {
    return this.log.size;
  }

  debugLog(): string {
    return this.log.describe() + ` stable=${this.checkpoint.stable.seq} exec=${this.executed}`;
  }

  get n(): number {
    return this.p.replicas.length;
  }

  private primaryOf(view: number): number {
    return view % this.n;
  }

  get primary(): boolean {
    return this.p.index === this.primaryOf(this.view);
  }

  others(): NodeId[] {
    return this.p.replicas.filter((_, i) => i !== this.p.index);
  }

  start(ctx: Ctx<PbftMsg>): void {
    ctx.setTimer('retry', this.p.retryUs);
    // Started with empty state (perhaps restarted): the others' stable checkpoint, if they have one.
    if (this.n > 1) this.stateTransfer.request(ctx);
  }

  receive(ctx: Ctx<PbftMsg>, m: PbftMsg): void {
    switch (m.type) {
      case 'request':
        return this.onRequest(ctx, m.payload);
      case 'pre-prepare':
        return this.onPrePrepare(ctx, m);
      case 'prepare':
      case 'commit':
        return this.onVote(ctx, m);
      case 'checkpoint':
        return this.checkpoint.onSigned(ctx, m);
      case 'view-change':
        return this.onViewChange(ctx, m);
      case 'new-view':
        return this.onNewView(ctx, m);
      case 'view-change-fetch': {
        const vc = this.changes.get(m.view)?.get(m.wanted);
        if (vc && this.p.replicas[m.replica] !== undefined) ctx.send(this.p.replicas[m.replica]!, vc);
        return;
      }
      case 'state-request':
        return this.stateTransfer.onRequest(ctx, m.seq, m.replica);
      case 'state-reply':
        return this.stateTransfer.onReply(ctx, m);
      default:
        return;
    }
  }

  timer(ctx: Ctx<PbftMsg>, name: string): void {
    if (name === 'batch') this.flush(ctx);
    if (name === 'view-change') {
      this.timerArmed = false;
      if (this.active) this.startViewChange(ctx, this.view + 1, 'request-timeout');
      else if ((this.changes.get(this.view)?.size ?? 0) >= 2 * this.p.f + 1) {
        this.viewChangeUs *= 2;
        this.startViewChange(ctx, this.view + 1, 'new-view-timeout');
      } else {
        // Castro & Liskov §4.5.2: the next view is tried only once 2f+1 replicas wanted this
        // one and its NEW-VIEW did not come within a timeout of that (the timer restarts when
        // the 2f+1-th VIEW-CHANGE arrives). A replica that timed out alone waits for the others
        // (f+1 of them moving on bring it along): running up views nobody joined, it was left
        // in a view above everyone's for good.
        this.timerArmed = true;
        ctx.setTimer('view-change', this.viewChangeUs);
      }
    }
    if (name !== 'retry') return;
    ctx.setTimer('retry', this.p.retryUs);
    if (!this.active) {
      // Our VIEW-CHANGE may have been lost, or the NEW-VIEW on its way to us: the new primary answers with it.
      const mine = this.changes.get(this.view)?.get(this.p.index);
      if (mine) ctx.multicast(this.others(), mine);
      if (this.pendingNewView) this.onNewView(ctx, this.pendingNewView);
      return;
    }
    this.stateTransfer.tick(ctx);
    this.checkpoint.tick(ctx);
    for (const [seq, inst] of this.log.entries()) {
      if (!inst.prePrepare || !this.retransmitting(inst)) continue;
      if (!inst.quiet) {
        inst.quiet = true;
        continue;
      }
      inst.retries++;
      if (this.primary) {
        if (!inst.derived) ctx.multicast(this.others(), inst.prePrepare);
      } else ctx.multicast(this.others(), this.vote('prepare', seq, inst.digest!, true));
      if (inst.sentCommit) ctx.multicast(this.others(), this.vote('commit', seq, inst.digest!, true));
    }
  }

  private onRequest(ctx: Ctx<PbftMsg>, payload: Uint8Array): void {
    const request = this.open(payload);
    if (!request) return;
    const { client, requestId } = request;
    const done = this.store.lastOf(client);
    if (done && done.requestId >= requestId) {
      if (done.requestId === requestId) ctx.send(this.p.clientNode(client), this.reply(client, requestId, done.result));
      return;
    }
    if (!this.primary || !this.active) {
      // A client that timed out sends to everyone: backups pass it on to the primary and watch
      // that it executes (or the primary is suspected).
      if (this.n === 1) return;
      const known = this.waiting.get(client);
      if (!known || known.requestId < requestId) this.waiting.set(client, { requestId, payload });
      if (this.active) ctx.send(this.p.replicas[this.primaryOf(this.view)]!, { type: 'request', payload });
      this.armViewChangeTimer(ctx);
      return;
    }
    if (this.queue.some((q) => equalBytes(q, payload))) return;
    this.queue.push(payload);
    // Adaptive batching: order at once while the pipeline has room; otherwise requests wait
    // for a batch to commit (or the batch to fill, or the delay to pass).
    if (this.queue.length >= this.p.maxBatch || this.inFlight() < PIPELINE) this.flush(ctx);
    else ctx.setTimer('batch', this.p.batchDelayUs);
  }

  /** A request's payload decoded, or null with the refusal counted (malformed, or in the name of no client of the testbed). */
  private open(payload: Uint8Array): KvRequest | null {
    try {
      return fromKnownClient(decodeKvRequest(payload), this.p.clients);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.obs.invalid(err.reason === 'unknown-client' ? err.reason : 'malformed-request');
      return null;
    }
  }

  private armViewChangeTimer(ctx: Ctx<PbftMsg>): void {
    if (this.timerArmed || !this.active || this.primary) return;
    this.timerArmed = true;
    ctx.setTimer('view-change', this.viewChangeUs);
  }

  flush(ctx: Ctx<PbftMsg>): void {
    ctx.cancelTimer('batch');
    if (this.queue.length === 0 || !this.primary || !this.active || (this.n > 1 && this.seq >= this.checkpoint.stable.seq + WINDOW)) return;
    const batch = this.queue;
    this.queue = [];
    const seq = ++this.seq;
    const pp = authenticate<PrePrepare>({ type: 'pre-prepare', view: this.view, seq, replica: this.p.index, batch, auth: new Uint8Array() }, this.p.index, this.p.pairKeys);
    this.obs.batched(batch.length);
    const inst = this.log.instance(seq);
    this.log.acceptPrePrepare(inst, pp, false);
    ctx.multicast(this.others(), pp);
    this.progress(ctx, seq, inst);
  }

  /** Batches ordered by this primary and not yet executed. */
  private inFlight(): number {
    return this.seq - this.executed;
  }

  private vote(type: 'prepare' | 'commit', seq: number, digest: Uint8Array, resent = false): PhaseVote {
    return authenticate<PhaseVote>({ type, view: this.view, seq, replica: this.p.index, digest, resent, auth: new Uint8Array() }, this.p.index, this.p.pairKeys);
  }

  private authentic(m: PrePrepare | PhaseVote): boolean {
    const key = this.p.pairKeys[m.replica];
    if (!key || m.replica === this.p.index || !verifyAuthenticator(m, this.p.index, key)) {
      this.obs.invalid('bad-authenticator');
      return false;
    }
    return true;
  }

  /**
   * f+1 replicas (one correct at least) voted, in the view we lead, for sequence numbers we never
   * assigned: an earlier incarnation of ours pre-prepared them, and we restarted with empty state
   * in our own view. Numbering again from the stable checkpoint would contradict it (backups
   * refuse the conflicting pre-prepares, and what it ordered is ours no longer to send), so we
   * give the view up: the next one's NEW-VIEW carries what was prepared under the old numbering.
   */
  private unassignedVote(ctx: Ctx<PbftMsg>, replica: number): void {
    if (this.unassigned.view !== this.view) this.unassigned = { view: this.view, voters: new Set() };
    this.unassigned.voters.add(replica);
    if (this.unassigned.voters.size > this.p.f) this.startViewChange(ctx, this.view + 1, 'restarted-primary');
  }

  /** Whether a normal-case message belongs to the view this replica is running (older ones are expected after a view change and dropped). */
  private current(ctx: Ctx<PbftMsg>, m: PrePrepare | PhaseVote): boolean {
    if (m.view > this.view && this.authentic(m)) this.witnessed(ctx, m.replica, m.view);
    if (m.view !== this.view || !this.active) return false;
    if (m.type !== 'pre-prepare' && this.primary && m.seq > this.seq) {
      if (this.authentic(m)) this.unassignedVote(ctx, m.replica);
      return false;
    }
    if (m.seq <= this.checkpoint.stable.seq || m.seq > this.checkpoint.stable.seq + WINDOW) {
      this.obs.invalid('outside-window');
      return false;
    }
    return true;
  }

  private onPrePrepare(ctx: Ctx<PbftMsg>, m: PrePrepare): void {
    if (!this.current(ctx, m) || m.replica !== this.primaryOf(this.view) || !this.authentic(m)) return;
    const inst = this.log.instance(m.seq);
    const digest = batchDigest(m.batch);
    if (inst.digest && !equalBytes(inst.digest, digest)) return this.obs.invalid('conflicting-pre-prepare');
    if (inst.prePrepare) return;
    this.log.acceptPrePrepare(inst, m, false);
    ctx.multicast(this.others(), this.vote('prepare', m.seq, digest));
    inst.prepares.set(this.p.index, digest);
    this.progress(ctx, m.seq, inst);
  }

  private onVote(ctx: Ctx<PbftMsg>, m: PhaseVote): void {
    if (!this.current(ctx, m) || !this.authentic(m)) return;
    const inst = this.log.instance(m.seq);
    if (inst.digest && !equalBytes(inst.digest, m.digest)) return this.obs.invalid('mismatched-vote');
    if (m.resent && inst.sentCommit && inst.digest && !this.retransmitting(inst)) {
      // The sender still misses votes, and we stopped resending (we had everyone's, or gave up
      // with a replica down; ours may be among those it lost): it gets our COMMIT again,
      // unflagged, so nobody answers that.
      ctx.send(this.p.replicas[m.replica]!, this.vote('commit', m.seq, inst.digest));
    }
    const votes = m.type === 'prepare' ? inst.prepares : inst.commits;
    // A copy of a vote we hold is no progress (it must not hold back our retransmission).
    if (!votes.has(m.replica)) inst.quiet = false;
    votes.set(m.replica, m.digest);
    this.progress(ctx, m.seq, inst);
  }

  /** Whether our retry timer still resends this instance's messages. */
  private retransmitting(inst: Instance): boolean {
    return inst.commits.size < this.n && inst.retries < MAX_RETRIES;
  }

  private votesFor(votes: Map<number, Uint8Array>, digest: Uint8Array, except: number): number {
    let k = 0;
    for (const [r, d] of votes) if (r !== except && equalBytes(d, digest)) k++;
    return k;
  }

  private progress(ctx: Ctx<PbftMsg>, seq: number, inst: Instance): void {
    const f = this.p.f;
    if (!inst.prePrepare || !inst.digest || inst.committed) return;
    // Prepared: the pre-prepare and 2f matching PREPAREs from backups.
    if (!inst.sentCommit && this.votesFor(inst.prepares, inst.digest, this.primaryOf(this.view)) >= 2 * f) {
      inst.sentCommit = true;
      this.log.prepare(seq, this.view, inst.digest);
      inst.commits.set(this.p.index, inst.digest);
      if (this.n > 1) ctx.multicast(this.others(), this.vote('commit', seq, inst.digest));
    }
    if (inst.sentCommit && this.votesFor(inst.commits, inst.digest, -1) >= 2 * f + 1) {
      inst.committed = true;
      this.execute(ctx);
    }
  }

  private reply(client: number, requestId: number, result: Parameters<typeof encodeResult>[0]): PbftReply {
    const reply: PbftReply = {
      type: 'reply', view: this.view, replica: this.p.index, client, requestId, result: encodeResult(result), mac: new Uint8Array(32),
    };
    reply.mac = pbftReplyMac(reply, this.p.clientKey(client));
    return reply;
  }

  execute(ctx: Ctx<PbftMsg>): void {
    for (let inst = this.log.get(this.executed + 1); inst?.committed; inst = this.log.get(this.executed + 1)) {
      this.executed++;
      for (const payload of inst.prePrepare!.batch) {
        // A faulty primary's batch may hold anything: every correct replica skips the same requests.
        const request = this.open(payload);
        if (!request) continue;
        const { result } = this.store.execute(request);
        if (result !== null) ctx.send(this.p.clientNode(request.client), this.reply(request.client, request.requestId, result));
      }
      this.obs.executed(inst.prePrepare!.batch.length);
      // Alone (the unreplicated server) nobody needs an executed batch again: no checkpoint to wait for.
      if (this.n === 1) this.log.delete(this.executed);
      if (this.executed % CHECKPOINT_INTERVAL === 0 && this.n > 1) this.checkpoint.take(ctx);
      if (this.primary && this.queue.length > 0 && this.inFlight() < PIPELINE) this.flush(ctx);
    }
    this.releaseAnswered(ctx);
  }

  /**
   * Requests this backup watched that have executed (here or in a transferred state) stop
   * guarding the primary: the timeout resets, and the timer restarts for any still waiting.
   */
  releaseAnswered(ctx: Ctx<PbftMsg>): void {
    let released = false;
    for (const [client, w] of this.waiting) {
      if (this.store.answered(client, w.requestId)) {
        this.waiting.delete(client);
        released = true;
      }
    }
    if (!released || !this.active) return;
    this.viewChangeUs = this.p.viewChangeUs;
    ctx.cancelTimer('view-change');
    this.timerArmed = false;
    if (this.waiting.size > 0) this.armViewChangeTimer(ctx);
  }

  /**
   * f+1 replicas run a later view (we restarted with empty state, or missed its VIEW-CHANGEs and
   * NEW-VIEW): join it as a backup. What its NEW-VIEW re-proposed we take at its next stable
   * checkpoint; our own pre-prepares, prepares and claims of older views go.
   */
  private witnessed(ctx: Ctx<PbftMsg>, replica: number, view: number): void {
    const joined = this.witness.note(replica, view, this.view);
    if (joined === null || this.primaryOf(joined) === this.p.index) return;
    this.view = joined;
    this.active = true;
    this.newView = null;
    this.pendingNewView = null;
    this.log.clear();
    this.witness.clear();
    for (const v of this.changes.keys()) if (v <= joined) this.changes.delete(v);
    ctx.cancelTimer('view-change');
    this.timerArmed = false;
    this.obs.viewChanged(joined, 'joined');
    this.obs.viewStarted(joined);
    if (this.waiting.size > 0) this.armViewChangeTimer(ctx);
  }

  /** Moves to `target` (> view): stops the normal case and sends a signed VIEW-CHANGE with P, Q and the stable checkpoint. */
  private startViewChange(ctx: Ctx<PbftMsg>, target: number, reason: PbftViewChangeReason): void {
    if (target <= this.view || this.n === 1) return;
    this.view = target;
    this.active = false;
    this.pendingNewView = null;
    ctx.cancelTimer('batch');
    this.obs.viewChanged(target, reason);
    const vc = signPbft<ViewChange>({
      type: 'view-change', view: target, replica: this.p.index, checkpoint: this.checkpoint.stable.proof, ...this.log.claims(), sig: new Uint8Array(),
    }, this.p.keys);
    this.changesOf(target).set(this.p.index, vc);
    for (const v of this.changes.keys()) if (v < target) this.changes.delete(v);
    ctx.multicast(this.others(), vc);
    ctx.cancelTimer('view-change');
    this.timerArmed = true;
    ctx.setTimer('view-change', this.viewChangeUs);
    if (this.primary) this.tryNewView(ctx);
  }

  private changesOf(view: number): Map<number, ViewChange> {
    let m = this.changes.get(view);
    if (!m) this.changes.set(view, (m = new Map()));
    return m;
  }

  private onViewChange(ctx: Ctx<PbftMsg>, m: ViewChange): void {
    if (m.view < this.view || (m.replica === this.p.index && !this.namedByPendingNewView(m))) return;
    const fault = viewChangeFault(m, this.p.f, this.p.keys);
    if (fault) return this.obs.invalid(`view-change-${fault}`);
    if (m.replica === this.p.index) {
      this.changesOf(m.view).set(m.replica, m);
      return this.onNewView(ctx, this.pendingNewView!);
    }
    if (m.view === this.view && this.active) {
      // The sender has not seen the NEW-VIEW of the view we are running.
      if (this.primary && this.newView) ctx.send(this.p.replicas[m.replica]!, this.newView);
      return;
    }
    const at = this.changesOf(m.view);
    if (!at.has(m.replica)) {
      at.set(m.replica, m);
      // The view we wait for now has 2f+1 VIEW-CHANGEs: its NEW-VIEW gets a whole timeout from here.
      if (m.view === this.view && !this.active && at.size === 2 * this.p.f + 1) {
        this.timerArmed = true;
        ctx.setTimer('view-change', this.viewChangeUs);
      }
    }
    // f+1 replicas want a later view: at least one correct one does, so join the smallest of them.
    const ahead = new Map<number, number>();
    for (const [v, byReplica] of this.changes) {
      if (v > this.view) for (const r of byReplica.keys()) ahead.set(r, Math.min(ahead.get(r) ?? Infinity, v));
    }
    if (ahead.size >= this.p.f + 1) this.startViewChange(ctx, Math.min(...ahead.values()), 'joined');
    if (m.view === this.view && !this.active) {
      if (this.primary) this.tryNewView(ctx);
      else if (this.pendingNewView?.view === m.view) this.onNewView(ctx, this.pendingNewView);
    }
  }

  /**
   * Our own VIEW-CHANGE as the NEW-VIEW we wait on names it: sent by an earlier incarnation of
   * ours (we restarted with empty state and sent another for the same view), fetched from the
   * new primary. The view was formed with it, so we take it in place of ours; refused, the
   * NEW-VIEW never matched and we sat out the view, then ran ahead into the next alone.
   */
  private namedByPendingNewView(m: ViewChange): boolean {
    const nv = this.pendingNewView;
    return nv !== null && nv.view === m.view && nv.changes.some((c) => c.replica === m.replica && equalBytes(c.digest, viewChangeDigest(m)));
  }

  /** The new primary: once the VIEW-CHANGEs it holds decide every slot, it announces the view. */
  private tryNewView(ctx: Ctx<PbftMsg>): void {
    const changes = [...this.changesOf(this.view).values()];
    const plan = planNewView(changes, this.p.f, this.p.keys);
    if (!plan) return;
    const nv = signPbft<NewView>({
      type: 'new-view', view: this.view, replica: this.p.index, changes: changes.map((c) => ({ replica: c.replica, digest: viewChangeDigest(c) })), sig: new Uint8Array(),
    }, this.p.keys);
    ctx.multicast(this.others(), nv);
    this.install(ctx, plan, nv);
  }

  private onNewView(ctx: Ctx<PbftMsg>, m: NewView): void {
    if (m.view < this.view || (m.view === this.view && this.active)) return;
    if (m.replica !== this.primaryOf(m.view) || m.replica === this.p.index) return this.obs.invalid('new-view-from-non-primary');
    if (!verifyPbft(m, this.p.keys)) return this.obs.invalid('bad-signature');
    if (new Set(m.changes.map((c) => c.replica)).size !== m.changes.length) return this.obs.invalid('new-view-duplicate-change');
    const held = this.changes.get(m.view);
    const changes: ViewChange[] = [];
    let missing = false;
    for (const ref of m.changes) {
      const vc = held?.get(ref.replica);
      if (vc && equalBytes(viewChangeDigest(vc), ref.digest)) changes.push(vc);
      else {
        missing = true;
        ctx.send(this.p.replicas[m.replica]!, { type: 'view-change-fetch', view: m.view, replica: this.p.index, wanted: ref.replica });
      }
    }
    if (missing) {
      this.pendingNewView = m;
      return;
    }
    const plan = planNewView(changes, this.p.f, this.p.keys);
    if (!plan) return this.obs.invalid('new-view-undecided');
    if (m.view > this.view) {
      this.view = m.view;
      this.obs.viewChanged(m.view, 'joined');
    }
    this.install(ctx, plan, m);
  }

  /** Starts the view: every slot of the plan is pre-prepared again in it, and the normal case resumes. */
  private install(ctx: Ctx<PbftMsg>, plan: NewViewPlan, nv: NewView): void {
    this.active = true;
    this.witness.clear();
    this.newView = nv;
    this.pendingNewView = null;
    this.obs.viewStarted(this.view);
    ctx.cancelTimer('view-change');
    this.timerArmed = false;
    this.log.clear();
    this.checkpoint.makeStable(ctx, plan.stable);
    const primary = this.primaryOf(this.view);
    for (const slot of plan.slots) {
      const inst = this.log.instance(slot.seq);
      this.log.acceptPrePrepare(inst, { type: 'pre-prepare', view: this.view, seq: slot.seq, replica: primary, batch: slot.batch, auth: new Uint8Array() }, true);
      if (!this.primary) {
        ctx.multicast(this.others(), this.vote('prepare', slot.seq, inst.digest!));
        inst.prepares.set(this.p.index, inst.digest!);
      }
    }
    this.seq = Math.max(this.checkpoint.stable.seq, this.executed, plan.slots.at(-1)?.seq ?? 0);
    if (this.executed < this.checkpoint.stable.seq) this.stateTransfer.request(ctx);
    // Requests this replica knows of go to the new primary (or into its own queue).
    const known = [...this.queue.splice(0), ...[...this.waiting.values()].map((w) => w.payload)];
    if (this.primary) this.waiting.clear();
    for (const payload of known) this.onRequest(ctx, payload);
    for (const [seq, inst] of this.log.entries()) this.progress(ctx, seq, inst);
  }
}
