import { type KvRequest, KvStore, decodeKvRequest, encodeResult, fromKnownClient } from '../apps/kv.js';
import { equalBytes } from '../crypto/bytes.js';
import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { authenticate, batchDigest, pbftReplyMac, verifyAuthenticator } from './auth.js';
import { CHECKPOINT_INTERVAL, Checkpoints } from './checkpoint.js';
import { type Instance, PbftLog } from './log.js';
import type { PbftMsg, PbftReply, PhaseVote, PrePrepare } from './messages.js';
import type { NewViewPlan } from './new-view.js';
import type { PbftObserver, PbftReplicaParams } from './replica-params.js';
import { Recovery } from './recovery.js';
import { StateTransfer } from './state-transfer.js';
import { ViewChange } from './view-change.js';

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

  readonly me: number;
  readonly f: number;
  readonly checkpoint: Checkpoints;
  readonly stateTransfer: StateTransfer;
  readonly viewChange: ViewChange;
  readonly recovery: Recovery;

  constructor(readonly p: PbftReplicaParams, readonly obs: PbftObserver) {
    this.me = p.index;
    this.f = p.f;
    this.checkpoint = new Checkpoints(this);
    this.stateTransfer = new StateTransfer(this);
    this.viewChange = new ViewChange(this);
    this.recovery = new Recovery(this);
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

  primaryOf(view: number): number {
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
    this.recovery.start(ctx);
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
        return this.viewChange.onViewChange(ctx, m);
      case 'new-view':
        return this.viewChange.onNewView(ctx, m);
      case 'view-change-fetch':
        return this.viewChange.onFetch(ctx, m);
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
    if (name === 'view-change') this.viewChange.onTimeout(ctx);
    if (name !== 'retry') return;
    ctx.setTimer('retry', this.p.retryUs);
    if (!this.active) return this.viewChange.tick(ctx);
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

  onRequest(ctx: Ctx<PbftMsg>, payload: Uint8Array): void {
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
      this.viewChange.watch(client, requestId, payload);
      if (this.active) ctx.send(this.p.replicas[this.primaryOf(this.view)]!, { type: 'request', payload });
      this.viewChange.armTimer(ctx);
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

  /** Whether a normal-case message belongs to the view this replica is running (older ones are expected after a view change and dropped). */
  private current(ctx: Ctx<PbftMsg>, m: PrePrepare | PhaseVote): boolean {
    if (m.view > this.view && this.authentic(m)) this.recovery.witnessed(ctx, m.replica, m.view);
    if (m.view !== this.view || !this.active) return false;
    if (m.type !== 'pre-prepare' && this.primary && m.seq > this.seq) {
      if (this.authentic(m)) this.recovery.unassignedVote(ctx, m.replica);
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
    this.viewChange.releaseAnswered(ctx);
  }

  /** A NEW-VIEW's slots, pre-prepared again in the view; a backup prepares each. */
  reproposed(ctx: Ctx<PbftMsg>, slots: NewViewPlan['slots']): void {
    const primary = this.primaryOf(this.view);
    for (const slot of slots) {
      const inst = this.log.instance(slot.seq);
      this.log.acceptPrePrepare(inst, { type: 'pre-prepare', view: this.view, seq: slot.seq, replica: primary, batch: slot.batch, auth: new Uint8Array() }, true);
      if (!this.primary) {
        ctx.multicast(this.others(), this.vote('prepare', slot.seq, inst.digest!));
        inst.prepares.set(this.p.index, inst.digest!);
      }
    }
  }

  /** The requests queued for the next batch, taken out (a view starts). */
  takeQueue(): Uint8Array[] {
    return this.queue.splice(0);
  }

  /** Every instance makes what progress its votes allow (a view starts). */
  resume(ctx: Ctx<PbftMsg>): void {
    for (const [seq, inst] of this.log.entries()) this.progress(ctx, seq, inst);
  }
}
