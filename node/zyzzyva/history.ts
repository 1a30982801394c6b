import type { KvStore } from '../apps/kv.js';
import { equalBytes } from '../crypto/bytes.js';
import { invariant } from '../protocol/invariant.js';
import { type Checkpoint, EMPTY_HISTORY, type OrderReq, type OrderedEntry } from './messages.js';

type Undo = ReturnType<KvStore['execute']>['undo'];

/** One batch of the speculative history: what was ordered at `seq`, the signed ORDER-REQ if held, and how to undo its execution. */
export interface Entry extends OrderedEntry {
  digest: Uint8Array;
  order: OrderReq | null;
  /** The undo records of its requests, in execution order (docs/zyzzyva.md#rollback). */
  undo: Undo[];
}

/**
 * The speculative history (§3.1): the batches executed above `base` — the stable checkpoint or
 * the state taken — each with its history hash h_n and the undo records of its execution, so a
 * view change can roll back what its NEW-VIEW does not carry. Nothing at or below `base` can be
 * rolled back: a view change that would need it takes a state instead.
 */
export class SpecHistory {
  private readonly entries = new Map<number, Entry>();
  /** The proven point the history starts from, with the CHECKPOINTs proving it (none for the initial state). */
  base: { seq: number; history: Uint8Array; proof: Checkpoint[] } = { seq: 0, history: EMPTY_HISTORY, proof: [] };
  top = 0;
  head: Uint8Array = EMPTY_HISTORY;

  get(seq: number): Entry | undefined {
    return this.entries.get(seq);
  }

  /** h_seq as this replica holds it, if it holds it. */
  historyAt(seq: number): Uint8Array | undefined {
    if (seq === this.base.seq) return this.base.history;
    return this.entries.get(seq)?.history;
  }

  matches(seq: number, history: Uint8Array): boolean {
    const h = this.historyAt(seq);
    return h !== undefined && equalBytes(h, history);
  }

  /** Appends the batch executed next; it must extend the history in order. */
  append(e: Entry): void {
    invariant(e.seq === this.top + 1, 'executed-in-order', () => `batch ${e.seq} executed after ${this.top}`);
    this.entries.set(e.seq, e);
    this.top = e.seq;
    this.head = e.history;
  }

  /** Undoes every batch above `seq` (newest first); returns the requests undone. */
  rollBackTo(seq: number, store: KvStore): number {
    invariant(seq >= this.base.seq, 'rollback-above-base', () => `rollback to ${seq} below ${this.base.seq}`);
    let undone = 0;
    for (let s = this.top; s > seq; s--) {
      const e = this.entries.get(s)!;
      for (let i = e.undo.length - 1; i >= 0; i--) store.undo(e.undo[i]!);
      undone += e.batch.length;
      this.entries.delete(s);
    }
    this.top = Math.min(this.top, seq);
    this.head = this.historyAt(this.top)!;
    return undone;
  }

  /** Garbage collection at a stable checkpoint this history passes through: nothing at or below it is kept. */
  collect(seq: number, proof: Checkpoint[]): void {
    const h = this.historyAt(seq);
    if (seq <= this.base.seq || !h) return;
    for (const s of this.entries.keys()) if (s <= seq) this.entries.delete(s);
    this.base = { seq, history: h, proof };
  }

  /** A state taken at `seq`: the history restarts there. */
  reset(seq: number, history: Uint8Array, proof: Checkpoint[]): void {
    this.entries.clear();
    this.base = { seq, history, proof };
    this.top = seq;
    this.head = history;
  }

  /** The batches above the base, in order (O of a VIEW-CHANGE). */
  ordered(): Entry[] {
    return [...this.entries.values()].sort((a, b) => a.seq - b.seq);
  }
}
