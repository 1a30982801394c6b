import type { KvStore } from '../apps/kv.js';
import { equalBytes } from '../crypto/bytes.js';
import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { signPbft, verifyPbft } from './auth.js';
import type { Checkpoint, PbftMsg } from './messages.js';
import { INITIAL_CHECKPOINT, type StableCheckpoint } from './new-view.js';
import type { PbftReplica } from './replica.js';

/** Batches between checkpoints (PBFT's K). */
export const CHECKPOINT_INTERVAL = 16;

/**
 * Checkpoints and garbage collection (docs/pbft.md#checkpoints-and-state-transfer; OSDI'99
 * §4.3): every CHECKPOINT_INTERVAL batches a replica multicasts a signed CHECKPOINT with its
 * state digest and keeps a copy of the state; 2f+1 matching ones make the checkpoint stable, and
 * the log, the claims, the checkpoints and the states below it go.
 */
export class Checkpoints {
  stable: StableCheckpoint = INITIAL_CHECKPOINT;
  /** The CHECKPOINTs received above the stable checkpoint, by sequence number and sender (a sender's first stands; 2f+1 matching make it stable). */
  private readonly received = new Map<number, Votes<Checkpoint>>();
  /** The highest checkpoint each replica sent (bounds what is kept of its checkpoints). */
  private readonly top = new Map<number, number>();
  /** This replica's state at checkpoints not yet superseded (copies, encoded when a STATE-REQUEST asks). */
  private readonly snapshots = new Map<number, KvStore>();
  /** The latest CHECKPOINT this replica signed, resent while it is not yet stable (one lost copy must not hold the window). */
  private last: Checkpoint | null = null;

  constructor(private readonly r: PbftReplica) {}

  /** The batch just executed ends an interval: the state is kept, and its digest signed and multicast. */
  take(ctx: Ctx<PbftMsg>): void {
    const r = this.r;
    this.snapshots.set(r.executed, r.store.clone());
    const cp = signPbft<Checkpoint>({ type: 'checkpoint', seq: r.executed, replica: r.me, digest: r.store.digest(), sig: new Uint8Array() }, r.p.keys);
    this.last = cp;
    ctx.multicast(r.others(), cp);
    this.onCheckpoint(ctx, cp);
  }

  /** Another replica's CHECKPOINT, counted once its signature holds. */
  onSigned(ctx: Ctx<PbftMsg>, m: Checkpoint): void {
    if (!verifyPbft(m, this.r.p.keys)) return this.r.obs.invalid('bad-signature');
    this.onCheckpoint(ctx, m);
  }

  private onCheckpoint(ctx: Ctx<PbftMsg>, m: Checkpoint): void {
    if (m.seq % CHECKPOINT_INTERVAL !== 0) return this.r.obs.invalid('bad-checkpoint');
    if (m.seq <= this.stable.seq) return;
    // Kept per sender: its newest checkpoint and the two intervals below it (a correct replica's
    // go up; a Byzantine one spraying sequence numbers holds three entries, not one per lie).
    const top = Math.max(this.top.get(m.replica) ?? 0, m.seq);
    this.top.set(m.replica, top);
    const floor = top - 2 * CHECKPOINT_INTERVAL;
    if (m.seq < floor) return this.r.obs.invalid('stale-checkpoint');
    for (const [seq, by] of this.received) {
      if (seq < floor && by.delete(m.replica) && by.size === 0) this.received.delete(seq);
    }
    let at = this.received.get(m.seq);
    if (!at) this.received.set(m.seq, (at = new Votes(2 * this.r.f + 1)));
    if (at.has(m.replica)) return;
    at.set(m.replica, m);
    const matching = (c: Checkpoint) => equalBytes(c.digest, m.digest);
    if (at.reachedBy(matching)) this.makeStable(ctx, { seq: m.seq, digest: m.digest, proof: at.values().filter(matching) });
  }

  /** A checkpoint proven by 2f+1: the log, claims, checkpoints and states below it go. */
  makeStable(ctx: Ctx<PbftMsg>, s: StableCheckpoint): void {
    const r = this.r;
    if (s.seq <= this.stable.seq) return;
    this.stable = s;
    r.obs.checkpointStable(s.seq);
    for (const seq of this.received.keys()) if (seq <= s.seq) this.received.delete(seq);
    for (const seq of this.snapshots.keys()) if (seq < s.seq) this.snapshots.delete(seq);
    r.log.collect(s.seq, r.executed);
    if (r.primary && r.active) r.normal.flush(ctx);
  }

  /**
   * f+1 others (one correct at least) checkpointed past what we executed: batches we lack went
   * there, and their votes, or the pre-prepare itself (a primary that restarted has none of its
   * earlier ones), may never come again. The checkpoint they make stable needs 2f+1 signers,
   * so with a replica down it may wait for us to catch up: we ask for the state at their stable
   * checkpoint as soon as it passes us (state-transfer.ts).
   */
  pastUs(): boolean {
    const past = new Votes(this.r.f + 1);
    for (const [replica, top] of this.top) if (replica !== this.r.me && top > this.r.executed) past.add(replica, true);
    return past.reached;
  }

  /** This replica's state at the stable checkpoint, if it holds it. */
  stableState(): KvStore | undefined {
    return this.snapshots.get(this.stable.seq);
  }

  /** Keeps a copy of the state at `seq` (taken from another replica). */
  keep(seq: number, store: KvStore): void {
    this.snapshots.set(seq, store.clone());
  }

  /** The retry period: our latest CHECKPOINT again while it is not stable. */
  tick(ctx: Ctx<PbftMsg>): void {
    if (this.last && this.last.seq > this.stable.seq) ctx.multicast(this.r.others(), this.last);
  }
}
