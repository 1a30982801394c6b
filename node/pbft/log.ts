import { hex } from '../crypto/bytes.js';
import { Votes } from '../protocol/quorum.js';
import { batchDigest } from './auth.js';
import type { PrePrepare, SlotClaim } from './messages.js';

/** One sequence number's protocol instance in the current view (docs/pbft.md#normal-case-and-batching). */
export interface Instance {
  prePrepare: PrePrepare | null;
  /** Re-proposed by a NEW-VIEW: every replica derived it, nobody retransmits it. */
  derived: boolean;
  digest: Uint8Array | null;
  /**
   * Votes by replica, with the digest each voted for (counted only when it is the pre-prepared
   * one): a replica's latest vote stands. Prepared with 2f PREPAREs from backups, committed with
   * 2f+1 COMMITs (OSDI'99 §4.2).
   */
  prepares: Votes<Uint8Array>;
  commits: Votes<Uint8Array>;
  sentCommit: boolean;
  committed: boolean;
  retries: number;
  /**
   * No new vote (nor the pre-prepare) arrived since the last retry tick: resent at the next one. An
   * instance is resent only after a whole period without progress, never merely for being in flight
   * when the timer fires (under load that resent every batch in the pipeline, every period).
   */
  quiet: boolean;
}

/** What a VIEW-CHANGE reports of this replica's log: P, Q and the bodies of the batches in P. */
export interface LogClaims {
  prepared: SlotClaim[];
  prePrepared: SlotClaim[];
  batches: Uint8Array[][];
}

/**
 * The message log (Castro & Liskov, OSDI'99 §4.2-4.3): the current view's instance per sequence
 * number, and what a VIEW-CHANGE claims of earlier views (TOCS §4.4): P, the latest batch
 * prepared here per slot above the stable checkpoint, and Q, every batch pre-prepared here per
 * slot with the latest view it was and its body. A stable checkpoint collects what lies below it.
 */
export class PbftLog {
  private readonly instances = new Map<number, Instance>();
  private readonly prepared = new Map<number, SlotClaim>();
  private readonly prePrepared = new Map<number, Map<string, SlotClaim & { batch: Uint8Array[] }>>();

  /** `f`: the faults tolerated, which set the instances' quorums. */
  constructor(private readonly f: number) {}

  get size(): number {
    return this.instances.size;
  }

  get(seq: number): Instance | undefined {
    return this.instances.get(seq);
  }

  /** The instances by sequence number (live: entries added while iterating are visited). */
  entries(): IterableIterator<[number, Instance]> {
    return this.instances.entries();
  }

  /** The instance of `seq`, created empty if there is none. */
  instance(seq: number): Instance {
    let i = this.instances.get(seq);
    if (!i) {
      i = { prePrepare: null, derived: false, digest: null, prepares: new Votes(2 * this.f), commits: new Votes(2 * this.f + 1), sentCommit: false, committed: false, retries: 0, quiet: false };
      this.instances.set(seq, i);
    }
    return i;
  }

  /** Records a pre-prepare of the current view in the instance and in Q. */
  acceptPrePrepare(inst: Instance, pp: PrePrepare, derived: boolean): void {
    const digest = batchDigest(pp.batch);
    inst.prePrepare = pp;
    inst.quiet = false;
    inst.derived = derived;
    inst.digest = digest;
    let q = this.prePrepared.get(pp.seq);
    if (!q) this.prePrepared.set(pp.seq, (q = new Map()));
    q.set(hex(digest), { seq: pp.seq, view: pp.view, digest, batch: pp.batch });
  }

  /** Records in P that `digest` prepared at `seq` in `view`. */
  prepare(seq: number, view: number, digest: Uint8Array): void {
    this.prepared.set(seq, { seq, view, digest });
  }

  delete(seq: number): void {
    this.instances.delete(seq);
  }

  /** Drops every instance (a new view starts; P and Q stay for its VIEW-CHANGEs). */
  clear(): void {
    this.instances.clear();
  }

  /** Drops the instances up to `seq` (their state was taken). */
  dropThrough(seq: number): void {
    for (const s of this.instances.keys()) if (s <= seq) this.instances.delete(s);
  }

  /** Garbage collection at a stable checkpoint `stable`: P and Q up to it, and the instances executed up to it. */
  collect(stable: number, executed: number): void {
    for (const m of [this.prepared, this.prePrepared]) for (const seq of m.keys()) if (seq <= stable) m.delete(seq);
    for (const seq of this.instances.keys()) if (seq <= stable && seq <= executed) this.instances.delete(seq);
  }

  claims(): LogClaims {
    const prepared = [...this.prepared.values()];
    const prePrepared = [...this.prePrepared.values()].flatMap((q) => [...q.values()]);
    const batches = prepared.map((c) => this.prePrepared.get(c.seq)!.get(hex(c.digest))!.batch);
    return { prepared, prePrepared: prePrepared.map(({ seq, view, digest }) => ({ seq, view, digest })), batches };
  }

  /** The instances in brief (for a failing test's message). */
  describe(): string {
    return [...this.instances].map(([s, i]) => `${s}:${i.prePrepare ? 'pp' : '-'}${i.prepares.size}/${i.commits.size}${i.committed ? 'C' : ''}${i.sentCommit ? 's' : ''} r${i.retries}`).join(' ');
  }
}
