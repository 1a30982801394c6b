import { equalBytes } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { leaderOf as leaderOfView } from '../protocol/leader.js';
import { Votes } from '../protocol/quorum.js';
import type { OrderedMulticast } from './aom-messages.js';
import type { AomReceiverAuth } from './aom-receiver.js';
import { type ReplicaKeys, verifyRelayedOc, verifySigned } from './auth.js';
import { chainLink } from './chain.js';
import { type Confirm, type GapVote, type LogEntry, NOOP_DIGEST, type Sync, type View, type ViewChange } from './protocol-messages.js';

/**
 * NeoBFT's view change (NeoBFT §5; docs/neobft.md#view-change-and-epoch-change), the pure part: checking a VIEW-CHANGE and merging
 * 2f+1 of them into the log every replica of the new view starts from. The replica runs the
 * exchange; the new leader and every replica merge the same messages the same way, so they
 * agree on the result without trusting the leader.
 *
 * A VIEW-CHANGE carries the sender's SYNC certificate (2f+1 signed SYNCs at its sync point),
 * the entries of the interval before it (proven by the hash chain up to the certificate) and
 * every entry after it, each with its own proof. Merging (the paper's rules, with the SYNC
 * certificate as the epoch certificate at an epoch's first slot):
 *   1. the final prefix is the certificate with the highest (epoch, slot): its epoch E is the
 *      largest certified epoch;
 *   2. after it, every message of epoch E any valid log holds (ordering certificates are unique
 *      per sequence number; in Byzantine-network mode each carries 2f+1 CONFIRMs);
 *   3. every certified no-op overwrites;
 *   4. a slot no log holds stays open: gap agreement in the new view settles it.
 */

export const compareViews = (a: View, b: View) => (a.epoch - b.epoch) || (a.leader - b.leader);
export const viewKey = (v: View) => `${v.epoch}/${v.leader}`;
/** The leader of a view: its leader number mod n, round-robin (protocol/leader.ts). */
export const leaderOf = (v: View, n: number) => leaderOfView(v.leader, n);

export interface FinalPoint {
  slot: number;
  hash: Uint8Array;
  epoch: number;
  /** The slot epoch `epoch` started after (its message seq s goes to slot epochStart + s). */
  epochStart: number;
}

/** A VIEW-CHANGE whose every part checked out. */
export interface CheckedViewChange {
  replica: number;
  final: FinalPoint;
  /** The interval before the sync point, by slot (null: a no-op). */
  finalEntries: Map<number, OrderedMulticast | null>;
  /** Entries after the sync point, with the proofs that go on into later view changes. */
  entries: Map<number, ProvenEntry>;
}

export type ProvenEntry =
  | { kind: 'message'; oc: OrderedMulticast; confirms: Confirm[] }
  | { kind: 'no-op'; commits: GapVote[] };

export interface CheckEnv {
  n: number;
  f: number;
  /** Our index: with HM we check our own entry of each MAC vector. */
  index: number;
  keys: ReplicaKeys;
  /** The AOM authenticator of an epoch, or null if there is none. */
  authFor(epoch: number): AomReceiverAuth | null;
  byzantineNetwork: boolean;
}

export const GENESIS: FinalPoint = { slot: 0, hash: new Uint8Array(32), epoch: 1, epochStart: 0 };

/**
 * Whether final point `a` is newer than `b`: a later epoch, or a later slot of the same epoch.
 * An epoch starts where the merged log ended, so a later epoch's final point may sit at the very
 * slot of the earlier epoch's (an epoch certified before it ordered anything): by slot alone the
 * two look alike, and the older one hides the epoch the replicas are in.
 */
export function laterFinal(a: FinalPoint, b: FinalPoint): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.slot > b.slot);
}
const digestOf = (e: LogEntry) => (e.kind === 'message' ? e.oc.header.digest : NOOP_DIGEST);

/** Whether `cert` is 2f+1 matching signed SYNCs from distinct replicas; returns its point. */
export function checkSyncCert(cert: Sync[], env: CheckEnv): FinalPoint | string {
  if (cert.length === 0) return GENESIS;
  const first = cert[0]!;
  const who = new Votes(2 * env.f + 1);
  for (const s of cert) {
    if (s.view.epoch !== first.view.epoch || s.slot !== first.slot || s.epochStart !== first.epochStart || !equalBytes(s.logHash, first.logHash)
      || !equalBytes(s.stateDigest, first.stateDigest)) {
      return 'sync certificate does not match';
    }
    if (s.replica >= env.n || !verifySigned(s, env.keys)) return 'sync certificate badly signed';
    who.add(s.replica, true);
  }
  if (!who.reached) return `sync certificate of ${who.size} replicas`;
  return { slot: first.slot, hash: first.logHash, epoch: first.view.epoch, epochStart: first.epochStart };
}

function quorumOf<T extends { replica: number }>(votes: T[], env: CheckEnv, ok: (v: T) => boolean): boolean {
  const who = new Votes(2 * env.f + 1);
  for (const v of votes) if (v.replica < env.n && ok(v)) who.add(v.replica, true);
  return who.reached;
}

/** Checks a VIEW-CHANGE whole (signature, certificate, hash chain, every entry's proof); a string says why not. */
export function checkViewChange(vc: ViewChange, env: CheckEnv): CheckedViewChange | string {
  if (vc.replica >= env.n || !verifySigned(vc, env.keys)) return 'bad signature';
  const final = checkSyncCert(vc.cert, env);
  if (typeof final === 'string') return final;
  const finalEntries = new Map<number, OrderedMulticast | null>();
  const entries = new Map<number, ProvenEntry>();
  let hash = vc.base;
  let prev = -1;
  for (let i = 0; i < vc.entries.length; i++) {
    const e = vc.entries[i]!;
    if (e.slot <= prev) return 'entries out of order';
    if (e.kind === 'message' && !equalBytes(sha256(e.oc.payload), e.oc.header.digest)) return `corrupted message at slot ${e.slot}`;
    if (e.slot <= final.slot) {
      if (prev >= 0 && e.slot !== prev + 1) return 'hole in the final interval';
      hash = sha256(Buffer.concat([hash, digestOf(e)]));
      finalEntries.set(e.slot, e.kind === 'message' ? e.oc : null);
      if (e.slot === final.slot && !equalBytes(hash, final.hash)) return 'final interval does not hash to the certificate';
      prev = e.slot;
      continue;
    }
    if (prev < final.slot && !equalBytes(hash, final.hash)) return 'final interval does not reach the certificate';
    prev = e.slot;
    const why = checkEntry(vc, i, final, env);
    if (why) return why;
    entries.set(e.slot, e.kind === 'message' ? { kind: 'message', oc: e.oc, confirms: e.confirms } : { kind: 'no-op', commits: e.commits });
  }
  if (prev < final.slot && !equalBytes(hash, final.hash)) return 'final interval does not reach the certificate';
  return { replica: vc.replica, final, finalEntries, entries };
}

export function checkEntry(vc: ViewChange, i: number, final: FinalPoint, env: CheckEnv): string | null {
  const e = vc.entries[i]!;
  if (e.kind === 'no-op') {
    const ok = quorumOf(e.commits, env, (c) => c.type === 'gap-commit' && c.slot === e.slot && c.view.epoch >= final.epoch
      && equalBytes(c.digest, NOOP_DIGEST) && verifySigned(c, env.keys));
    return ok ? null : `no-op at slot ${e.slot} without a gap certificate`;
  }
  const h = e.oc.header;
  if (h.epoch !== final.epoch || final.epochStart + h.seq !== e.slot) return `message of epoch ${h.epoch} seq ${h.seq} at slot ${e.slot}`;
  const auth = env.authFor(h.epoch);
  if (!auth) return `no keys for epoch ${h.epoch}`;
  const next = vc.entries[i + 1];
  let linked: Uint8Array | null = null;
  if (next?.kind === 'message' && next.slot === e.slot + 1 && next.oc.auth.scheme === 'pk') linked = next.oc.auth.linked;
  else if (!next && vc.tailSign && e.oc.auth.scheme === 'pk' && auth.scheme === 'pk' && vc.tailSign.epoch === h.epoch && vc.tailSign.seq === h.seq
    && equalBytes(chainLink(e.oc.auth.linked, h), vc.tailSign.chain) && auth.backend.verify(vc.tailSign.signature, vc.tailSign.chain, auth.publicKey)) {
    linked = vc.tailSign.chain;
  }
  if (linked && e.oc.auth.scheme === 'pk' && !e.oc.auth.signature) {
    if (!equalBytes(chainLink(e.oc.auth.linked, h), linked)) return `chain broken at slot ${e.slot}`;
  } else if (!verifyRelayedOc(e.oc, env.index, auth, null)) return `unauthenticated message at slot ${e.slot}`;
  if (env.byzantineNetwork) {
    const ok = quorumOf(e.confirms, env, (c) => c.slot === e.slot && c.view.epoch === h.epoch && equalBytes(c.digest, h.digest) && verifySigned(c, env.keys));
    if (!ok) return `message at slot ${e.slot} without 2f+1 CONFIRMs`;
  }
  return null;
}

export interface MergedLog {
  final: FinalPoint;
  finalEntries: Map<number, OrderedMulticast | null>;
  entries: Map<number, ProvenEntry>;
  /** The highest slot any entry fills (the final slot when there are none). */
  last: number;
}

/** Merges 2f+1 checked VIEW-CHANGEs (in sender order, so every replica gets the same log). */
export function mergeViewChanges(vcs: CheckedViewChange[]): MergedLog {
  const sorted = [...vcs].sort((a, b) => a.replica - b.replica);
  let best = sorted[0]!;
  for (const vc of sorted) {
    if (laterFinal(vc.final, best.final)) best = vc;
  }
  const final = best.final;
  const entries = new Map<number, ProvenEntry>();
  for (const vc of sorted) {
    for (const [slot, e] of vc.entries) {
      if (slot <= final.slot || e.kind !== 'message' || e.oc.header.epoch !== final.epoch || entries.has(slot)) continue;
      entries.set(slot, e);
    }
  }
  for (const vc of sorted) {
    for (const [slot, e] of vc.entries) {
      if (slot <= final.slot || e.kind !== 'no-op' || Math.min(...e.commits.map((c) => c.view.epoch)) < final.epoch) continue;
      entries.set(slot, e);
    }
  }
  let last = final.slot;
  for (const slot of entries.keys()) last = Math.max(last, slot);
  // Lagging replicas fill the final interval from whichever log still holds it.
  const finalEntries = new Map(best.finalEntries);
  return { final, finalEntries, entries, last };
}
