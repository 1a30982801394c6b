import { equalBytes, hex } from '../crypto/bytes.js';
import { Votes } from '../protocol/quorum.js';
import { type PbftSigningKeys, batchDigest, verifyPbft } from './auth.js';
import type { Checkpoint, ViewChange } from './messages.js';

/** A stable checkpoint: sequence number, state digest and the 2f+1 signed CHECKPOINTs proving it (none for sequence 0). */
export interface StableCheckpoint {
  seq: number;
  digest: Uint8Array;
  proof: Checkpoint[];
}

export const INITIAL_CHECKPOINT: StableCheckpoint = { seq: 0, digest: new Uint8Array(32), proof: [] };

/** Whether `proof` holds 2f+1 validly signed CHECKPOINTs of one (sequence, digest) from distinct replicas. */
export function checkpointProven(proof: Checkpoint[], f: number, keys: Pick<PbftSigningKeys, 'publicKeys' | 'backend'>): StableCheckpoint | null {
  if (proof.length === 0) return INITIAL_CHECKPOINT;
  const [first] = proof;
  const signers = new Votes(2 * f + 1);
  for (const c of proof) {
    if (c.seq !== first!.seq || !equalBytes(c.digest, first!.digest) || signers.has(c.replica) || !verifyPbft(c, keys)) return null;
    signers.add(c.replica, true);
  }
  return signers.reached ? { seq: first!.seq, digest: first!.digest, proof } : null;
}

/**
 * Why a VIEW-CHANGE is not acceptable, or null: a bad signature, an unproven checkpoint, claims
 * at or below its own checkpoint, two prepared claims for one slot, a prepared batch without its
 * body (the new primary could not re-propose it).
 */
export function viewChangeFault(m: ViewChange, f: number, keys: Pick<PbftSigningKeys, 'publicKeys' | 'backend'>): string | null {
  if (!verifyPbft(m, keys)) return 'bad-signature';
  const stable = checkpointProven(m.checkpoint, f, keys);
  if (!stable) return 'bad-checkpoint-proof';
  if ([...m.prepared, ...m.prePrepared].some((c) => c.seq <= stable.seq || c.view >= m.view)) return 'claim-out-of-range';
  if (new Set(m.prepared.map((c) => c.seq)).size !== m.prepared.length) return 'duplicate-prepared-claim';
  const bodies = new Set(m.batches.map((b) => hex(batchDigest(b))));
  if (m.prepared.some((c) => !bodies.has(hex(c.digest)))) return 'missing-batch';
  return null;
}

/** What a new view starts from: the checkpoint, and for every later slot the batch to re-propose (empty = null request). */
export interface NewViewPlan {
  stable: StableCheckpoint;
  slots: { seq: number; batch: Uint8Array[] }[];
}

/**
 * The new primary's choice of pre-prepares (Castro & Liskov, TOCS 2002, §4.4, the rule for
 * MAC-authenticated certificates that a VIEW-CHANGE cannot prove, only claim). `changes` are
 * verified VIEW-CHANGEs for view `view` from distinct replicas. The checkpoint is the highest
 * proven one. For each later slot up to the highest prepared claim, batch d prepared in view v'
 * is chosen when (A1) 2f+1 changes claim nothing prepared there, something prepared in an
 * earlier view, or the same (v', d), and (A2) f+1 changes pre-prepared d there in v' or later;
 * failing that, a null request when (B) 2f+1 changes claim nothing prepared there. A request
 * committed in an earlier view was prepared by f+1 correct replicas, so it passes A1/A2 and no
 * other batch does. When some slot satisfies neither, the plan waits for more changes (null).
 * Every replica runs this on the changes a NEW-VIEW names and so derives the same pre-prepares.
 */
export function planNewView(changes: ViewChange[], f: number, keys: Pick<PbftSigningKeys, 'publicKeys' | 'backend'>): NewViewPlan | null {
  if (changes.length < 2 * f + 1) return null;
  let stable = INITIAL_CHECKPOINT;
  for (const c of changes) {
    const s = checkpointProven(c.checkpoint, f, keys);
    if (s && s.seq > stable.seq) stable = s;
  }
  const bodies = new Map<string, Uint8Array[]>();
  for (const c of changes) for (const b of c.batches) bodies.set(hex(batchDigest(b)), b);
  const last = Math.max(stable.seq, ...changes.flatMap((c) => c.prepared.map((p) => p.seq)));
  const slots: NewViewPlan['slots'] = [];
  for (let seq = stable.seq + 1; seq <= last; seq++) {
    const prepared = changes.map((c) => c.prepared.find((p) => p.seq === seq) ?? null);
    const candidates = prepared.filter((p) => p !== null).sort((a, b) => b.view - a.view || hex(a.digest).localeCompare(hex(b.digest)));
    const chosen = candidates.find((cand) => {
      const a1 = prepared.filter((p) => p === null || p.view < cand.view || (p.view === cand.view && equalBytes(p.digest, cand.digest))).length;
      const a2 = changes.filter((c) => c.prePrepared.some((q) => q.seq === seq && q.view >= cand.view && equalBytes(q.digest, cand.digest))).length;
      return a1 >= 2 * f + 1 && a2 >= f + 1 && bodies.has(hex(cand.digest));
    });
    if (chosen) slots.push({ seq, batch: bodies.get(hex(chosen.digest))! });
    else if (prepared.filter((p) => p === null).length >= 2 * f + 1) slots.push({ seq, batch: [] });
    else return null;
  }
  return { stable, slots };
}
