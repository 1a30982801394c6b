import { encodeResult, openRequest } from '../apps/kv.js';
import { equalBytes } from '../crypto/bytes.js';
import type { Ctx } from '../runtime/core.js';
import { authenticate, batchDigest, pbftReplyMac, verifyAuthenticator } from './auth.js';
import { CHECKPOINT_INTERVAL } from './checkpoint.js';
import type { Instance } from './log.js';
import type { PbftMsg, PbftReply, PhaseVote, PrePrepare } from './messages.js';
import type { NewViewPlan } from './new-view.js';
import type { PbftReplica } from './replica.js';

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
 * The normal case (docs/pbft.md#normal-case-and-batching; OSDI'99 §4.2): the primary orders a
 * request at once while fewer than PIPELINE batches are in flight and batches what arrives
 * meanwhile (PRE-PREPARE); a batch is prepared with 2f matching PREPAREs, committed with 2f+1
 * COMMITs, executed in sequence order, and every replica replies. An instance that made no
 * progress for a retry period has its messages resent. With n = 1 requests execute as they arrive.
 */
export class NormalCase {
  /** Requests the primary holds for its next batch. */
  private queue: Uint8Array[] = [];

  constructor(private readonly r: PbftReplica) {}

  onRequest(ctx: Ctx<PbftMsg>, payload: Uint8Array): void {
    const r = this.r;
    const request = openRequest(payload, this.r.p.clients, (why) => this.r.obs.invalid(why));
    if (!request) return;
    const { client, requestId } = request;
    const done = r.store.lastOf(client);
    if (done && done.requestId >= requestId) {
      if (done.requestId === requestId) ctx.send(r.p.clientNode(client), this.reply(client, requestId, done.result));
      return;
    }
    if (!r.primary || !r.active) {
      // A client that timed out sends to everyone: backups pass it on to the primary and watch
      // that it executes (or the primary is suspected).
      if (r.n === 1) return;
      r.viewChange.watch(client, requestId, payload);
      if (r.active) ctx.send(r.p.replicas[r.primaryOf(r.view)]!, { type: 'request', payload });
      r.viewChange.armTimer(ctx);
      return;
    }
    if (this.queue.some((q) => equalBytes(q, payload))) return;
    this.queue.push(payload);
    // Adaptive batching: order at once while the pipeline has room; otherwise requests wait
    // for a batch to commit (or the batch to fill, or the delay to pass).
    if (this.queue.length >= r.p.maxBatch || this.inFlight() < PIPELINE) this.flush(ctx);
    else ctx.setTimer('batch', r.p.batchDelayUs);
  }

  /** The primary orders the queued requests as one batch, within the window. */
  flush(ctx: Ctx<PbftMsg>): void {
    const r = this.r;
    ctx.cancelTimer('batch');
    if (this.queue.length === 0 || !r.primary || !r.active || (r.n > 1 && r.seq >= r.checkpoint.stable.seq + WINDOW)) return;
    const batch = this.queue;
    this.queue = [];
    const seq = ++r.seq;
    const pp = authenticate<PrePrepare>({ type: 'pre-prepare', view: r.view, seq, replica: r.me, batch, auth: new Uint8Array() }, r.me, r.p.pairKeys);
    r.obs.batched(batch.length);
    const inst = r.log.instance(seq);
    r.log.acceptPrePrepare(inst, pp, false);
    ctx.multicast(r.others(), pp);
    this.progress(ctx, seq, inst);
  }

  /** Batches ordered by this primary and not yet executed. */
  private inFlight(): number {
    return this.r.seq - this.r.executed;
  }

  private vote(type: 'prepare' | 'commit', seq: number, digest: Uint8Array, resent = false): PhaseVote {
    const r = this.r;
    return authenticate<PhaseVote>({ type, view: r.view, seq, replica: r.me, digest, resent, auth: new Uint8Array() }, r.me, r.p.pairKeys);
  }

  private authentic(m: PrePrepare | PhaseVote): boolean {
    const key = this.r.p.pairKeys[m.replica];
    if (!key || m.replica === this.r.me || !verifyAuthenticator(m, this.r.me, key)) {
      this.r.obs.invalid('bad-authenticator');
      return false;
    }
    return true;
  }

  /** Whether a normal-case message belongs to the view this replica is running (older ones are expected after a view change and dropped). */
  private current(ctx: Ctx<PbftMsg>, m: PrePrepare | PhaseVote): boolean {
    const r = this.r;
    if (m.view > r.view && this.authentic(m)) r.recovery.witnessed(ctx, m.replica, m.view);
    if (m.view !== r.view || !r.active) return false;
    if (m.type !== 'pre-prepare' && r.primary && m.seq > r.seq) {
      if (this.authentic(m)) r.recovery.unassignedVote(ctx, m.replica);
      return false;
    }
    if (m.seq <= r.checkpoint.stable.seq || m.seq > r.checkpoint.stable.seq + WINDOW) {
      r.obs.invalid('outside-window');
      return false;
    }
    return true;
  }

  onPrePrepare(ctx: Ctx<PbftMsg>, m: PrePrepare): void {
    const r = this.r;
    if (!this.current(ctx, m) || m.replica !== r.primaryOf(r.view) || !this.authentic(m)) return;
    const inst = r.log.instance(m.seq);
    const digest = batchDigest(m.batch);
    if (inst.digest && !equalBytes(inst.digest, digest)) return r.obs.invalid('conflicting-pre-prepare');
    if (inst.prePrepare) return;
    r.log.acceptPrePrepare(inst, m, false);
    ctx.multicast(r.others(), this.vote('prepare', m.seq, digest));
    inst.prepares.set(r.me, digest);
    this.progress(ctx, m.seq, inst);
  }

  onVote(ctx: Ctx<PbftMsg>, m: PhaseVote): void {
    const r = this.r;
    if (!this.current(ctx, m) || !this.authentic(m)) return;
    const inst = r.log.instance(m.seq);
    if (inst.digest && !equalBytes(inst.digest, m.digest)) return r.obs.invalid('mismatched-vote');
    if (m.resent && inst.sentCommit && inst.digest && !this.retransmitting(inst)) {
      // The sender still misses votes, and we stopped resending (we had everyone's, or gave up
      // with a replica down; ours may be among those it lost): it gets our COMMIT again,
      // unflagged, so nobody answers that.
      ctx.send(r.p.replicas[m.replica]!, this.vote('commit', m.seq, inst.digest));
    }
    const votes = m.type === 'prepare' ? inst.prepares : inst.commits;
    // A copy of a vote we hold is no progress (it must not hold back our retransmission).
    if (votes.set(m.replica, m.digest)) inst.quiet = false;
    this.progress(ctx, m.seq, inst);
  }

  /** Whether our retry timer still resends this instance's messages. */
  private retransmitting(inst: Instance): boolean {
    return inst.commits.size < this.r.n && inst.retries < MAX_RETRIES;
  }

  private progress(ctx: Ctx<PbftMsg>, seq: number, inst: Instance): void {
    const r = this.r;
    if (!inst.prePrepare || !inst.digest || inst.committed) return;
    const digest = inst.digest;
    const primary = r.primaryOf(r.view);
    // Prepared: the pre-prepare and 2f matching PREPAREs from backups.
    if (!inst.sentCommit && inst.prepares.reachedBy((d, replica) => replica !== primary && equalBytes(d, digest))) {
      inst.sentCommit = true;
      r.log.prepare(seq, r.view, digest);
      inst.commits.set(r.me, digest);
      if (r.n > 1) ctx.multicast(r.others(), this.vote('commit', seq, digest));
    }
    if (inst.sentCommit && inst.commits.reachedBy((d) => equalBytes(d, digest))) {
      inst.committed = true;
      this.execute(ctx);
    }
  }

  private reply(client: number, requestId: number, result: Parameters<typeof encodeResult>[0]): PbftReply {
    const r = this.r;
    const reply: PbftReply = {
      type: 'reply', view: r.view, replica: r.me, client, requestId, result: encodeResult(result), mac: new Uint8Array(32),
    };
    reply.mac = pbftReplyMac(reply, r.p.clientKey(client));
    return reply;
  }

  /** Executes the committed batches next in sequence order, replying to each request's client. */
  execute(ctx: Ctx<PbftMsg>): void {
    const r = this.r;
    for (let inst = r.log.get(r.executed + 1); inst?.committed; inst = r.log.get(r.executed + 1)) {
      r.executed++;
      for (const payload of inst.prePrepare!.batch) {
        // A faulty primary's batch may hold anything: every correct replica skips the same requests.
        const request = openRequest(payload, this.r.p.clients, (why) => this.r.obs.invalid(why));
        if (!request) continue;
        const { result } = r.store.execute(request);
        if (result !== null) ctx.send(r.p.clientNode(request.client), this.reply(request.client, request.requestId, result));
      }
      r.obs.executed(inst.prePrepare!.batch.length);
      // Alone (the unreplicated server) nobody needs an executed batch again: no checkpoint to wait for.
      if (r.n === 1) r.log.delete(r.executed);
      if (r.executed % CHECKPOINT_INTERVAL === 0 && r.n > 1) r.checkpoint.take(ctx);
      if (r.primary && this.queue.length > 0 && this.inFlight() < PIPELINE) this.flush(ctx);
    }
    r.viewChange.releaseAnswered(ctx);
  }

  /** The retry period: an instance that made no progress for a whole period has its messages resent. */
  tick(ctx: Ctx<PbftMsg>): void {
    const r = this.r;
    for (const [seq, inst] of r.log.entries()) {
      if (!inst.prePrepare || !this.retransmitting(inst)) continue;
      if (!inst.quiet) {
        inst.quiet = true;
        continue;
      }
      inst.retries++;
      if (r.primary) {
        if (!inst.derived) ctx.multicast(r.others(), inst.prePrepare);
      } else ctx.multicast(r.others(), this.vote('prepare', seq, inst.digest!, true));
      if (inst.sentCommit) ctx.multicast(r.others(), this.vote('commit', seq, inst.digest!, true));
    }
  }

  /** A NEW-VIEW's slots, pre-prepared again in the view (nobody sends these); a backup prepares each. */
  reproposed(ctx: Ctx<PbftMsg>, slots: NewViewPlan['slots']): void {
    const r = this.r;
    const primary = r.primaryOf(r.view);
    for (const slot of slots) {
      const inst = r.log.instance(slot.seq);
      r.log.acceptPrePrepare(inst, { type: 'pre-prepare', view: r.view, seq: slot.seq, replica: primary, batch: slot.batch, auth: new Uint8Array() }, true);
      if (!r.primary) {
        ctx.multicast(r.others(), this.vote('prepare', slot.seq, inst.digest!));
        inst.prepares.set(r.me, inst.digest!);
      }
    }
  }

  /** The requests queued for the next batch, taken out (a view starts). */
  takeQueue(): Uint8Array[] {
    return this.queue.splice(0);
  }

  /** Every instance makes what progress its votes allow (a view starts). */
  resume(ctx: Ctx<PbftMsg>): void {
    for (const [seq, inst] of this.r.log.entries()) this.progress(ctx, seq, inst);
  }
}
