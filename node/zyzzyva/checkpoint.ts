import type { KvStore } from '../apps/kv.js';
import { equalBytes, hex } from '../crypto/bytes.js';
import { QuorumTally, Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { type VerifyKeys, signMsg, verifyMsg } from './auth.js';
import { EMPTY_HISTORY, type Checkpoint, type ZyzzyvaMsg } from './messages.js';
import type { ZyzzyvaReplica } from './replica.js';

/** Batches between checkpoints (the paper's CP_INTERVAL). */
export const CP_INTERVAL = 16;

/** A checkpoint with the CHECKPOINTs proving it (none for the initial state). */
export interface StableCheckpoint {
  seq: number;
  history: Uint8Array;
  digest: Uint8Array;
  proof: Checkpoint[];
}

export const INITIAL: StableCheckpoint = { seq: 0, history: EMPTY_HISTORY, digest: new Uint8Array(32), proof: [] };

const key = (c: Checkpoint) => `${c.seq}:${hex(c.history)}:${hex(c.digest)}`;

/** The checkpoint `proof` proves: 2f+1 valid CHECKPOINTs of distinct replicas matching in (n, h_n, digest); null if it does not. */
export function checkpointProven(proof: Checkpoint[], f: number, keys: VerifyKeys): StableCheckpoint | null {
  const first = proof[0];
  if (!first) return null;
  const signers = new Votes(2 * f + 1);
  for (const c of proof) {
    if (key(c) !== key(first) || signers.add(c.replica, true) === 'repeat' || !verifyMsg(c, keys)) return null;
  }
  return signers.reached ? { seq: first.seq, history: first.history, digest: first.digest, proof } : null;
}

/**
 * The checkpoint protocol (docs/zyzzyva.md#checkpoints-and-state-transfer; SOSP'07 §3.1):
 * every CP_INTERVAL batches a replica signs a CHECKPOINT with h_n and the digest of its state and
 * keeps a copy of the state; 2f+1 matching CHECKPOINTs make the checkpoint stable (the paper
 * takes f+1; we take PBFT's 2f+1 so that a stable checkpoint needs no rollback below it, see the
 * doc) and the history below it is collected.
 */
export class Checkpoints {
  stable: StableCheckpoint = INITIAL;
  /** CHECKPOINTs above the stable one, by (n, h_n, digest), a signer's latest standing. */
  private readonly received = new QuorumTally<Checkpoint>(0);
  /** The highest checkpoint each replica signed (to see who is past us). */
  private readonly top = new Map<number, number>();
  private readonly snapshots = new Map<number, KvStore>();
  private last: Checkpoint | null = null;

  constructor(private readonly r: ZyzzyvaReplica) {}

  take(ctx: Ctx<ZyzzyvaMsg>): void {
    const r = this.r;
    const seq = r.history.top;
    this.snapshots.set(seq, r.store.clone());
    this.last = signMsg<Checkpoint>({ type: 'checkpoint', seq, view: r.view, history: r.history.head, digest: r.store.digest(), replica: r.me, sig: new Uint8Array() }, r.p.keys);
    ctx.multicast(r.others(), this.last);
    this.count(ctx, this.last);
  }

  onSigned(ctx: Ctx<ZyzzyvaMsg>, m: Checkpoint): void {
    if (!verifyMsg(m, this.r.p.keys)) return this.r.obs.invalid('bad-signature');
    if (m.seq % CP_INTERVAL !== 0 || m.seq === 0) return this.r.obs.invalid('bad-checkpoint');
    this.r.recovery.witnessed(ctx, m.replica, m.view);
    this.count(ctx, m);
  }

  private count(ctx: Ctx<ZyzzyvaMsg>, m: Checkpoint): void {
    if (m.seq <= this.stable.seq) return;
    const top = Math.max(this.top.get(m.replica) ?? 0, m.seq);
    this.top.set(m.replica, top);
    // A sender's checkpoints more than two intervals below its newest go (a liar spraying
    // sequence numbers holds a few entries, not one per lie).
    if (m.seq < top - 2 * CP_INTERVAL) return this.r.obs.invalid('stale-checkpoint');
    for (const [k, votes] of this.received.entries()) {
      const c = votes.get(m.replica);
      if (c && (c.seq < top - 2 * CP_INTERVAL || (c.seq === m.seq && key(c) !== key(m)))) votes.delete(m.replica);
      if (votes.size === 0) this.received.delete(k);
    }
    const votes = this.received.set(key(m), m.replica, m);
    if (votes.size >= 2 * this.r.f + 1) this.makeStable(ctx, { seq: m.seq, history: m.history, digest: m.digest, proof: votes.values() });
  }

  /** A proven checkpoint: the history below it is collected if ours passes through it; otherwise we take its state. */
  makeStable(ctx: Ctx<ZyzzyvaMsg>, s: StableCheckpoint): void {
    const r = this.r;
    if (s.seq <= this.stable.seq) return;
    this.stable = s;
    for (const [k, votes] of this.received.entries()) if (votes.values()[0]!.seq <= s.seq) this.received.delete(k);
    for (const seq of this.snapshots.keys()) if (seq < s.seq) this.snapshots.delete(seq);
    if (r.history.matches(s.seq, s.history)) {
      r.commit.advance(s.seq, s.history, []);
      r.history.collect(s.seq, s.proof);
    } else if (r.history.top >= s.seq) r.stateTransfer.request(ctx);
    if (r.primary && r.active) r.agreement.flush(ctx);
  }

  /** The history reached the stable checkpoint (it was behind it when it became stable): collected now if it passes through it. */
  reached(): void {
    const r = this.r;
    if (!r.history.matches(this.stable.seq, this.stable.history)) return;
    r.commit.advance(this.stable.seq, this.stable.history, []);
    r.history.collect(this.stable.seq, this.stable.proof);
  }

  /** f+1 others (one correct at least) checkpointed past the top of our history. */
  pastUs(): boolean {
    const past = new Votes(this.r.f + 1);
    for (const [replica, top] of this.top) if (replica !== this.r.me && top > this.r.history.top) past.add(replica, true);
    return past.reached;
  }

  /** Our state at the stable checkpoint, if we hold it. */
  stableState(): KvStore | undefined {
    return equalBytes(this.stable.digest, this.snapshots.get(this.stable.seq)?.digest() ?? new Uint8Array()) ? this.snapshots.get(this.stable.seq) : undefined;
  }

  keep(seq: number, store: KvStore): void {
    this.snapshots.set(seq, store.clone());
  }

  /** Checkpoints rolled back: their states and our CHECKPOINT above `seq` go. */
  forgetAbove(seq: number): void {
    for (const s of this.snapshots.keys()) if (s > seq) this.snapshots.delete(s);
    if (this.last && this.last.seq > seq) this.last = null;
  }

  tick(ctx: Ctx<ZyzzyvaMsg>): void {
    if (this.last && this.last.seq > this.stable.seq) ctx.multicast(this.r.others(), this.last);
  }
}
