import { equalBytes, hex } from '../crypto/bytes.js';
import { type VerifyKeys, batchDigest, extend } from './auth.js';
import { INITIAL, type StableCheckpoint, checkpointProven } from './checkpoint.js';
import { validCertificate } from './commit.js';
import type { OrderedEntry, ViewChange } from './messages.js';

/** A VIEW-CHANGE's contents checked: its checkpoint, and O as a chain from it (h_n of each entry extends the one before). */
export interface CheckedChange {
  replica: number;
  base: StableCheckpoint;
  chain: Map<number, OrderedEntry>;
  /** The sequence number and history of its commit certificate, if it carries one above its checkpoint. */
  cc: { seq: number; history: Uint8Array } | null;
}

/**
 * A VIEW-CHANGE's checkpoint proof, commit certificate and O checked (§3.5): null if any is
 * invalid. O must be contiguous above the checkpoint and chain by h_n = H(h_{n−1}, d); the
 * certificate must name an h_n that O holds.
 */
export function checkChange(m: ViewChange, f: number, keys: VerifyKeys): CheckedChange | null {
  const base = m.checkpoint.length === 0 ? INITIAL : checkpointProven(m.checkpoint, f, keys);
  if (!base) return null;
  const chain = new Map<number, OrderedEntry>();
  let head = base.history;
  for (const [i, e] of m.ordered.entries()) {
    if (e.seq !== base.seq + 1 + i || !equalBytes(extend(head, batchDigest(e.batch)), e.history)) return null;
    chain.set(e.seq, e);
    head = e.history;
  }
  if (m.cc.length === 0) return { replica: m.replica, base, chain, cc: null };
  const c = m.cc[0]!;
  if (!validCertificate(m.cc, f, keys)) return null;
  if (c.seq <= base.seq) return { replica: m.replica, base, chain, cc: null };
  if (!chain.get(c.seq) || !equalBytes(chain.get(c.seq)!.history, c.history)) return null;
  return { replica: m.replica, base, chain, cc: { seq: c.seq, history: c.history } };
}

/** The history a NEW-VIEW makes: a checkpoint, then the batches above it in order. */
export interface NewViewPlan {
  base: StableCheckpoint;
  entries: OrderedEntry[];
}

export const planTop = (p: NewViewPlan) => p.entries.at(-1)?.seq ?? p.base.seq;

/** h_seq in the plan, if the plan names it. */
export function planHistoryAt(p: NewViewPlan, seq: number): Uint8Array | undefined {
  if (seq === p.base.seq) return p.base.history;
  return p.entries[seq - p.base.seq - 1]?.history;
}

/** h at `seq` in a checked VIEW-CHANGE's chain. */
const chainAt = (c: CheckedChange, seq: number) => (seq === c.base.seq ? c.base.history : c.chain.get(seq)?.history);

/**
 * The new view's history, the same at every replica from the same 2f+1 VIEW-CHANGEs (§3.5, TOCS
 * §4.3): from the highest checkpoint among them, up to the highest commit certificate (taken
 * from the VIEW-CHANGE carrying it), then each next batch that at least f+1 VIEW-CHANGEs' O hold
 * with the same h_n — a request that completed in one phase was executed by 3f+1 replicas, so by
 * f+1 correct ones among any 2f+1 — until a sequence number has none.
 */
export function planNewView(changes: CheckedChange[], f: number): NewViewPlan {
  const base = changes.reduce((b, c) => (c.base.seq > b.seq ? c.base : b), INITIAL);
  const entries: OrderedEntry[] = [];
  let head = base.history;
  let top = base.seq;
  const committed = changes
    .filter((c) => c.cc && c.cc.seq > base.seq && chainAt(c, base.seq) && equalBytes(chainAt(c, base.seq)!, base.history))
    .sort((a, b) => b.cc!.seq - a.cc!.seq)[0];
  if (committed) {
    for (let s = base.seq + 1; s <= committed.cc!.seq; s++) entries.push(committed.chain.get(s)!);
    top = committed.cc!.seq;
    head = committed.cc!.history;
  }
  for (;;) {
    const seq = top + 1;
    const support = new Map<string, { entry: OrderedEntry; count: number }>();
    for (const c of changes) {
      const e = c.chain.get(seq);
      if (!e) continue;
      const s = support.get(hex(e.history)) ?? { entry: e, count: 0 };
      s.count++;
      support.set(hex(e.history), s);
    }
    const chosen = [...support.values()].find((s) => s.count >= f + 1 && equalBytes(extend(head, batchDigest(s.entry.batch)), s.entry.history));
    if (!chosen) break;
    entries.push(chosen.entry);
    top = seq;
    head = chosen.entry.history;
  }
  return { base, entries };
}
