import { type KvRequest, KvStore, encodeResult } from '../apps/kv.js';
import { equalBytes } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import type { Ctx } from '../runtime/core.js';
import type { OrderedMulticast } from './aom-messages.js';
import type { NeoMsg } from './messages.js';
import { type Confirm, type GapVote, NOOP_DIGEST } from './protocol-messages.js';
import type { Replica } from './replica.js';
import type { MergedLog } from './view-change-merge.js';
import { isSyncPoint } from './sync.js';

export interface Slot {
  oc: OrderedMulticast | null;
  request: KvRequest | null;
  undo?: ReturnType<KvStore['execute']>['undo'];
  /** Kept when an old final slot is compacted (its certificate and request dropped). */
  digest?: Uint8Array;
  /** What proves the entry to a new leader: 2f+1 CONFIRMs (Byzantine-network mode) or a no-op's 2f+1 GAP-COMMITs. */
  proof?: Confirm[] | GapVote[];
}

export const digestOf = (oc: OrderedMulticast | null) => (oc ? oc.header.digest : NOOP_DIGEST);

/**
 * The log (docs/neobft.md#normal-case): slots executed in order, speculatively, each extending
 * the log hash; undo records until a slot is final; the slots AOM reported dropped.
 */
export class ReplicaLog {
  readonly slots: (Slot | undefined)[] = [];
  readonly hashes: Uint8Array[] = [new Uint8Array(32)];
  executed = 0;
  store = new KvStore();
  /** Slots AOM reported dropped and not yet resolved, and since when (for suspicion). */
  readonly missing = new Set<number>();
  readonly missingSince = new Map<number, number>();

  constructor(private readonly r: Replica) {}

  markMissing(slot: number, now: number): void {
    this.missing.add(slot);
    if (!this.missingSince.has(slot)) this.missingSince.set(slot, now);
  }

  resolved(slot: number): void {
    this.missing.delete(slot);
    this.missingSince.delete(slot);
  }

  /** Executes every slot in order up to the first one still unknown. */
  execute(ctx: Ctx<NeoMsg>): void {
    const r = this.r;
    for (let slot = this.executed + 1; this.slots[slot]; slot++) {
      const s = this.slots[slot]!;
      this.hashes[slot] = sha256(Buffer.concat([this.hashes[slot - 1]!, digestOf(s.oc)]));
      this.executed = slot;
      if (s.request) {
        const { result, undo } = this.store.execute(s.request);
        s.undo = undo;
        if (result !== null) r.clients.reply(ctx, slot, s.request, encodeResult(result));
      }
      r.obs.executed(slot, s.oc === null);
      if (isSyncPoint(slot, r.view.epoch, r.epochStarts.get(r.view.epoch)!)) r.sync.send(ctx, slot);
    }
  }

  /** Undoes speculative execution back to just before `slot` (never into the final prefix). */
  rollback(slot: number): void {
    const point = this.r.sync.point;
    if (slot <= point) throw new Error(`rollback into the final prefix (slot ${slot} ≤ ${point}): replicas disagreed on a synced slot`);
    let n = 0;
    for (let s = this.executed; s >= slot; s--) {
      const u = this.slots[s]?.undo;
      if (u) this.store.undo(u);
      this.hashes.length = s;
      n++;
    }
    this.executed = slot - 1;
    this.r.obs.rolledBack(n);
  }

  /** The state after `slot` (≥ the sync point, ≤ executed): the live store, or a copy with later slots undone. */
  stateAt(slot: number): KvStore {
    if (slot === this.executed) return this.store;
    const copy = this.store.clone();
    for (let s = this.executed; s > slot; s--) {
      const u = this.slots[s]?.undo;
      if (u) copy.undo(u);
    }
    return copy;
  }

  /** Final entries are never rolled back: their undo records, from `slot` down, can go. */
  dropUndo(slot: number): void {
    for (let s = slot; s > 0 && this.slots[s]?.undo; s--) delete this.slots[s]!.undo;
  }

  /** Slots final for a whole interval keep only their digest; old log hashes go. */
  compact(upto: number): void {
    for (const slot of this.missingSince.keys()) if (slot <= upto) this.missingSince.delete(slot);
    for (let s = upto; s > 0 && this.slots[s]?.oc !== undefined && this.slots[s]!.digest === undefined; s--) {
      const slot = this.slots[s]!;
      this.slots[s] = { oc: null, request: null, digest: slot.digest ?? digestOf(slot.oc) };
      if (s < upto) delete this.hashes[s];
    }
  }

  /** The digest held at a slot (NOOP_DIGEST for a no-op). */
  slotDigest(slot: number): Uint8Array | undefined {
    const s = this.slots[slot];
    return s ? (s.digest ?? digestOf(s.oc)) : undefined;
  }

  /** The final interval of a merged log (docs/neobft.md#view-change-and-epoch-change), for a replica behind it. */
  adoptFinalInterval(merged: MergedLog): void {
    for (const [slot, oc] of merged.finalEntries) {
      if (slot <= this.executed || this.slots[slot]) continue;
      this.slots[slot] = { oc, request: oc ? this.r.clients.openRequest(oc.payload) : null };
      this.resolved(slot);
    }
  }

  /**
   * The merged log past its final point replaces ours. Decided first, changed after the
   * rollback: undoing reads the undo records of the very entries the merged log replaces or drops.
   */
  adoptMerged(ctx: Ctx<NeoMsg>, merged: MergedLog, newEpoch: boolean): void {
    const { rollbackFrom, changes } = this.changesFor(merged, newEpoch);
    if (rollbackFrom <= this.executed) {
      if (rollbackFrom <= this.r.sync.point) this.r.obs.invalid('view-change-below-sync-point');
      else this.rollback(rollbackFrom);
    }
    for (const [slot, entry] of changes) {
      if (entry) {
        this.slots[slot] = entry;
        this.resolved(slot);
      } else {
        delete this.slots[slot];
        this.markMissing(slot, ctx.now);
        // An agreement this replica finished in an earlier view does not hold the slot any more:
        // kept, it would block the new view's agreement on it (a done record answers nothing)
        // and resend that view's decision and votes on every retry.
        this.r.gaps.forget(slot);
      }
    }
    if (newEpoch) {
      this.slots.length = Math.min(this.slots.length, merged.last + 1);
      for (const slot of [...this.missing]) if (slot > merged.last) this.resolved(slot);
    }
  }

  private changesFor(merged: MergedLog, newEpoch: boolean): { rollbackFrom: number; changes: [number, Slot | null][] } {
    let rollbackFrom = Infinity;
    const changes: [number, Slot | null][] = [];
    for (let slot = merged.final.slot + 1; slot <= merged.last; slot++) {
      const e = merged.entries.get(slot);
      const mine = this.slots[slot];
      if (!e) {
        // Nobody in the quorum holds it: it stays open for gap agreement in the new view
        // (a message of another epoch than the merged one is dropped from our log).
        if (mine?.oc && mine.oc.header.epoch === merged.final.epoch) continue;
        if (mine) rollbackFrom = Math.min(rollbackFrom, slot);
        changes.push([slot, null]);
        continue;
      }
      const digest = e.kind === 'message' ? e.oc.header.digest : NOOP_DIGEST;
      if (mine && equalBytes(digestOf(mine.oc), digest)) continue;
      if (mine) rollbackFrom = Math.min(rollbackFrom, slot);
      changes.push([slot, e.kind === 'message'
        ? { oc: e.oc, request: this.r.clients.openRequest(e.oc.payload), proof: e.confirms }
        : { oc: null, request: null, proof: e.commits }]);
    }
    // Our entries past the merged log: kept within the epoch, dropped when the epoch changes.
    if (newEpoch) for (let slot = merged.last + 1; slot < this.slots.length; slot++) if (this.slots[slot]) rollbackFrom = Math.min(rollbackFrom, slot);
    return { rollbackFrom, changes };
  }
}
