import { sha256 } from '../crypto/hash.js';
import { KvStore, decodeKvRequest, encodeResult } from '../apps/kv.js';
import { equalBytes } from '../crypto/bytes.js';
import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { authenticate, pbftReplyMac, verifyAuthenticator } from './auth.js';
import type { PbftMsg, PbftReply, PhaseVote, PrePrepare } from './messages.js';

export interface PbftReplicaParams {
  index: number;
  f: number;
  replicas: NodeId[];
  /** pairKeys[j]: the key this replica shares with replica j. */
  pairKeys: Uint8Array[];
  clientKey(client: number): Uint8Array;
  clientNode(client: number): NodeId;
  maxBatch: number;
  batchDelayUs: number;
  retryUs: number;
}

export interface PbftObserver {
  executed(requests: number): void;
  batched(size: number): void;
  invalid(reason: string): void;
}

interface Instance {
  prePrepare: PrePrepare | null;
  digest: Uint8Array | null;
  prepares: Set<number>;
  commits: Set<number>;
  sentCommit: boolean;
  committed: boolean;
  retries: number;
}

/**
 * Retransmission continues until every replica's commit was seen, or this many periods: the
 * stand-in here for PBFT's checkpoints and state transfer, so that a replica that lost a
 * message catches up instead of stalling behind a hole.
 */
const MAX_RETRIES = 50;

/** Batches the primary keeps in flight before it holds requests back to batch them. */
const PIPELINE = 2;

const batchDigest = (batch: Uint8Array[]) => sha256(Buffer.concat(batch.flatMap((b) => [Buffer.from(Uint32Array.of(b.length).buffer), b])));

/**
 * A PBFT replica in view 0 (the normal case with adaptive batching and retransmission). The
 * primary (replica 0) orders a request at once while fewer than PIPELINE batches are in flight,
 * and batches what arrives meanwhile; a batch is prepared with 2f matching PREPAREs, committed with
 * 2f+1 COMMITs, executed in sequence order. With n = 1 and f = 0 it is the unreplicated server:
 * requests execute as they arrive. View change is not implemented (a failed primary stalls).
 */
export class PbftReplica implements Core<PbftMsg> {
  private readonly view = 0;
  private seq = 0;
  private executed = 0;
  private readonly log = new Map<number, Instance>();
  private queue: Uint8Array[] = [];
  private readonly store = new KvStore();
  private readonly lastReply = new Map<number, PbftReply>();

  constructor(private readonly p: PbftReplicaParams, private readonly obs: PbftObserver) {}

  private get primary(): boolean {
    return this.p.index === this.view % this.p.replicas.length;
  }

  private others(): NodeId[] {
    return this.p.replicas.filter((_, i) => i !== this.p.index);
  }

  start(ctx: Ctx<PbftMsg>): void {
    ctx.setTimer('retry', this.p.retryUs);
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
      default:
        return;
    }
  }

  timer(ctx: Ctx<PbftMsg>, name: string): void {
    if (name === 'batch') this.flush(ctx);
    if (name !== 'retry') return;
    for (const [seq, inst] of this.log) {
      if (!inst.prePrepare || inst.commits.size === this.p.replicas.length || inst.retries >= MAX_RETRIES) continue;
      inst.retries++;
      if (this.primary) ctx.multicast(this.others(), inst.prePrepare);
      else ctx.multicast(this.others(), this.vote('prepare', seq, inst.digest!));
      if (inst.sentCommit) ctx.multicast(this.others(), this.vote('commit', seq, inst.digest!));
    }
    ctx.setTimer('retry', this.p.retryUs);
  }

  private onRequest(ctx: Ctx<PbftMsg>, payload: Uint8Array): void {
    let client: number;
    let requestId: number;
    try {
      ({ client, requestId } = decodeKvRequest(payload));
    } catch (err) {
      if (err instanceof WireError) return this.obs.invalid('malformed-request');
      throw err;
    }
    const done = this.lastReply.get(client);
    if (done && done.requestId >= requestId) {
      if (done.requestId === requestId) ctx.send(this.p.clientNode(client), done);
      return;
    }
    if (!this.primary) {
      // A client that timed out sends to everyone; backups pass it on to the primary.
      ctx.send(this.p.replicas[this.view % this.p.replicas.length]!, { type: 'request', payload });
      return;
    }
    if (this.queue.some((q) => equalBytes(q, payload))) return;
    this.queue.push(payload);
    // Adaptive batching: order at once while the pipeline has room; otherwise requests wait
    // for a batch to commit (or the batch to fill, or the delay to pass).
    if (this.queue.length >= this.p.maxBatch || this.inFlight() < PIPELINE) this.flush(ctx);
    else ctx.setTimer('batch', this.p.batchDelayUs);
  }

  private flush(ctx: Ctx<PbftMsg>): void {
    ctx.cancelTimer('batch');
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const seq = ++this.seq;
    const pp = authenticate<PrePrepare>({ type: 'pre-prepare', view: this.view, seq, replica: this.p.index, batch, auth: new Uint8Array() }, this.p.index, this.p.pairKeys);
    this.obs.batched(batch.length);
    const inst = this.instance(seq);
    inst.prePrepare = pp;
    inst.digest = batchDigest(batch);
    ctx.multicast(this.others(), pp);
    this.progress(ctx, seq, inst);
  }

  /** Batches ordered by this primary and not yet executed. */
  private inFlight(): number {
    return this.seq - this.executed;
  }

  private instance(seq: number): Instance {
    let i = this.log.get(seq);
    if (!i) {
      i = { prePrepare: null, digest: null, prepares: new Set(), commits: new Set(), sentCommit: false, committed: false, retries: 0 };
      this.log.set(seq, i);
    }
    return i;
  }

  private vote(type: 'prepare' | 'commit', seq: number, digest: Uint8Array): PhaseVote {
    return authenticate<PhaseVote>({ type, view: this.view, seq, replica: this.p.index, digest, auth: new Uint8Array() }, this.p.index, this.p.pairKeys);
  }

  private authentic(m: PrePrepare | PhaseVote): boolean {
    const key = this.p.pairKeys[m.replica];
    if (m.view !== this.view || !key || m.replica === this.p.index || !verifyAuthenticator(m, this.p.index, key)) {
      this.obs.invalid('bad-authenticator');
      return false;
    }
    return true;
  }

  private onPrePrepare(ctx: Ctx<PbftMsg>, m: PrePrepare): void {
    if (m.replica !== this.view % this.p.replicas.length || !this.authentic(m)) return;
    const inst = this.instance(m.seq);
    const digest = batchDigest(m.batch);
    if (inst.digest && !equalBytes(inst.digest, digest)) return this.obs.invalid('conflicting-pre-prepare');
    if (inst.prePrepare) return;
    inst.prePrepare = m;
    inst.digest = digest;
    ctx.multicast(this.others(), this.vote('prepare', m.seq, digest));
    inst.prepares.add(this.p.index);
    this.progress(ctx, m.seq, inst);
  }

  private onVote(ctx: Ctx<PbftMsg>, m: PhaseVote): void {
    if (!this.authentic(m)) return;
    const inst = this.instance(m.seq);
    if (inst.digest && !equalBytes(inst.digest, m.digest)) return this.obs.invalid('mismatched-vote');
    (m.type === 'prepare' ? inst.prepares : inst.commits).add(m.replica);
    this.progress(ctx, m.seq, inst);
  }

  private progress(ctx: Ctx<PbftMsg>, seq: number, inst: Instance): void {
    const f = this.p.f;
    if (!inst.prePrepare || inst.committed) return;
    // Prepared: the pre-prepare and 2f PREPAREs from backups.
    const prepares = [...inst.prepares].filter((r) => r !== this.view % this.p.replicas.length).length;
    if (!inst.sentCommit && prepares >= 2 * f) {
      inst.sentCommit = true;
      inst.commits.add(this.p.index);
      if (this.p.replicas.length > 1) ctx.multicast(this.others(), this.vote('commit', seq, inst.digest!));
    }
    if (inst.sentCommit && inst.commits.size >= 2 * f + 1) {
      inst.committed = true;
      this.execute(ctx);
    }
  }

  private execute(ctx: Ctx<PbftMsg>): void {
    for (let inst = this.log.get(this.executed + 1); inst?.committed; inst = this.log.get(this.executed + 1)) {
      this.executed++;
      for (const payload of inst.prePrepare!.batch) {
        let request;
        try {
          request = decodeKvRequest(payload);
        } catch (err) {
          if (err instanceof WireError) continue;
          throw err;
        }
        const { result } = this.store.execute(request);
        if (result === null) continue;
        const reply: PbftReply = {
          type: 'reply', view: this.view, replica: this.p.index, client: request.client, requestId: request.requestId,
          result: encodeResult(result), mac: new Uint8Array(32),
        };
        reply.mac = pbftReplyMac(reply, this.p.clientKey(request.client));
        this.lastReply.set(request.client, reply);
        ctx.send(this.p.clientNode(request.client), reply);
      }
      this.obs.executed(inst.prePrepare!.batch.length);
      if (this.primary && this.queue.length > 0 && this.inFlight() < PIPELINE) this.flush(ctx);
      // Executed instances are kept only as long as retransmissions may ask about them.
      if (this.executed > 1024) this.log.delete(this.executed - 1024);
    }
  }
}
