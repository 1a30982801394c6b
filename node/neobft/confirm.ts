import { hex } from '../crypto/bytes.js';
import type { Backoff } from '../protocol/backoff.js';
import { QuorumTally } from '../protocol/quorum.js';
import type { Ctx, NodeId } from '../runtime/core.js';
import type { OrderedMulticast } from './aom-messages.js';
import { sign, verifySigned } from './auth.js';
import type { NeoMsg } from './messages.js';
import type { Confirm } from './protocol-messages.js';
import type { Replica } from './replica.js';
import { PLEA_WINDOW } from './replica-params.js';

/**
 * CONFIRMs (Byzantine-network mode; docs/neobft.md#confirms-byzantine-network-mode): a replica
 * confirms the first version of a slot AOM delivered and fills the slot once 2f+1 replicas
 * confirmed the same digest. Two versions each confirmed by a correct replica prove the
 * sequencer lied: an epoch change follows at once.
 */
export class Confirms {
  /** Candidates per slot by digest. */
  readonly candidates = new Map<number, Map<string, OrderedMulticast>>();
  /** Who confirmed what, per slot and digest (a replica's latest CONFIRM stands: confirms of earlier views stay counted). */
  private readonly bySlot = new Map<number, QuorumTally<Confirm>>();
  /** Our own confirms. */
  readonly mine = new Map<number, Confirm>();
  /** Our confirms re-signed as requests for help (need = true), made once per slot. */
  private readonly pleas = new Map<number, Confirm>();
  /** When we confirmed each slot not yet filled. */
  readonly unconfirmedSince = new Map<number, number>();
  /**
   * Sequencers seen equivocating: an epoch of theirs had a slot in two versions, each confirmed
   * by a correct replica (us, or f+1 others). Later sequencer changes skip their epochs.
   */
  readonly equivocators = new Set<NodeId>();
  /** Retransmission schedule of CONFIRM pleas, per slot. */
  private readonly pleaResends: Backoff<number>;

  constructor(private readonly r: Replica) {
    this.pleaResends = r.newBackoff<number>();
  }

  /** Per-slot records held (for `retained`). */
  get size(): number {
    return this.mine.size + this.bySlot.size + this.candidates.size;
  }

  /** The version of `slot` we confirmed, if AOM delivered it to us. */
  confirmedCandidate(slot: number): OrderedMulticast | undefined {
    const mine = this.mine.get(slot);
    return mine ? this.candidates.get(slot)?.get(hex(mine.digest)) : undefined;
  }

  confirmedBy(slot: number, oc: OrderedMulticast): boolean {
    return !!this.bySlot.get(slot)?.get(hex(oc.header.digest))?.reached;
  }

  /** The 2f+1 CONFIRMs that prove `oc` at `slot` to a new leader. */
  proof(slot: number, oc: OrderedMulticast): Confirm[] {
    return (this.bySlot.get(slot)?.get(hex(oc.header.digest))?.values() ?? []).slice(0, this.r.quorum);
  }

  /** Confirm the first version of a slot we see, fill it once 2f+1 agree. */
  candidate(ctx: Ctx<NeoMsg>, slot: number, oc: OrderedMulticast): void {
    const r = this.r;
    // No CONFIRM after a GAP-DROP vote (nor a drop vote after a CONFIRM: gaps.onFind).
    if (r.log.slots[slot] || r.gaps.votedDrop(slot)) return;
    const d = hex(oc.header.digest);
    const byDigest = this.candidates.get(slot) ?? new Map<string, OrderedMulticast>();
    byDigest.set(d, oc);
    this.candidates.set(slot, byDigest);
    if (!this.mine.has(slot) && !r.mute) {
      this.unconfirmedSince.set(slot, ctx.now);
      ctx.multicast(r.others(), this.signConfirm(slot, oc.header.digest));
    }
    this.settle(ctx, slot);
  }

  /** Our CONFIRM of `digest` at `slot` in this view, counted and kept. */
  private signConfirm(slot: number, digest: Uint8Array): Confirm {
    const r = this.r;
    const c = sign<Confirm>({ type: 'confirm', view: r.view, replica: r.p.index, slot, digest, need: false, sig: new Uint8Array(64) }, r.p.keys);
    this.mine.set(slot, c);
    this.count(c);
    return c;
  }

  private count(c: Confirm): void {
    let bySlot = this.bySlot.get(c.slot);
    if (!bySlot) this.bySlot.set(c.slot, (bySlot = new QuorumTally<Confirm>(this.r.quorum)));
    bySlot.set(hex(c.digest), c.replica, c);
  }

  onConfirm(ctx: Ctx<NeoMsg>, c: Confirm): void {
    const r = this.r;
    if (!r.p.byzantineNetwork || !r.sameView(c.view) || c.replica >= r.p.replicas.length) {
      r.obs.invalid('bad-confirm');
      return;
    }
    // A CONFIRM counted already (a plea repeats it) adds nothing: its signature goes unchecked,
    // and it can only make us send our own CONFIRM to that replica.
    const counted = this.bySlot.get(c.slot)?.get(hex(c.digest))?.get(c.replica);
    const known = counted !== undefined && r.sameView(counted.view);
    if (!known) {
      if (!verifySigned(c, r.p.keys)) {
        r.obs.invalid('bad-confirm');
        return;
      }
      this.count(c);
      this.checkEquivocation(ctx, c.slot);
    }
    // A replica asking for help with a slot gets our confirm again (answers never ask back).
    if (c.need) this.confirmTo(ctx, c.replica, c.slot);
    if (!known) this.settle(ctx, c.slot);
  }

  /** Our CONFIRM of `slot` to a replica that needs it: the one we made, or, for a slot we hold from an earlier view (our confirms there do not count in this one), a new one. */
  confirmTo(ctx: Ctx<NeoMsg>, replica: number, slot: number): void {
    const r = this.r;
    const held = r.log.slots[slot]?.oc;
    const mine = this.mine.get(slot) ?? (held && !r.mute && this.signConfirm(slot, held.header.digest));
    if (mine) ctx.send(r.p.replicas[replica]!, mine);
  }

  /**
   * A slot of this epoch in two versions, each confirmed by a correct replica, proves the
   * sequencer lied: move to the next epoch at once. Waiting for a timeout let gap agreement turn
   * every split slot into a no-op first, and the stalled window then blamed leader after leader
   * while the lying sequencer kept its epoch (seen on a busy real cluster: no operation executed).
   */
  private checkEquivocation(ctx: Ctx<NeoMsg>, slot: number): void {
    const r = this.r;
    const start = r.epochStarts.get(r.view.epoch);
    if (r.status !== 'normal' || start === undefined || slot <= start || !this.split(slot)) return;
    this.equivocators.add(r.p.sequencerNode(r.view.epoch));
    r.viewChange.start(ctx, { epoch: r.viewChange.nextEpoch(), leader: r.view.leader }, 'sequencer');
  }

  private settle(ctx: Ctx<NeoMsg>, slot: number): void {
    const r = this.r;
    if (r.log.slots[slot]) return;
    for (const [d, oc] of this.candidates.get(slot) ?? []) {
      if (!this.bySlot.get(slot)?.get(d)?.reached) continue;
      this.candidates.delete(slot);
      r.log.resolved(slot);
      r.normal.fill(ctx, slot, oc, true);
      return;
    }
  }

  /**
   * Whether two versions of `slot` each have a correct replica's CONFIRM in this view: ours, or
   * f+1 (confirms of earlier views stay counted, and a slot an epoch change re-opened holds
   * another epoch's message).
   */
  split(slot: number): boolean {
    // Called on every CONFIRM: a slot with one digest (the normal case) costs a map lookup.
    const byDigest = this.bySlot.get(slot);
    if (!byDigest || byDigest.size < 2) return false;
    const mine = this.mine.get(slot);
    const versions = [...byDigest.entries()].filter(([digest, who]) =>
      who.count((c) => this.r.sameView(c.view)) >= this.r.p.f + 1 || (mine !== undefined && hex(mine.digest) === digest));
    return versions.length >= 2;
  }

  /** Whether a slot we confirmed stayed unfilled past `limit` (split slots also mark the sequencer as lying). */
  stalled(limit: number, finalElsewhere: number): boolean {
    const r = this.r;
    for (const [slot, since] of this.unconfirmedSince) {
      // Settled another way since (gap agreement, a view's merged log): not waiting any more.
      if (r.log.slots[slot]) {
        this.unconfirmedSince.delete(slot);
        continue;
      }
      if (since > limit || slot <= finalElsewhere) continue;
      if (this.split(slot)) this.equivocators.add(r.p.sequencerNode(r.view.epoch));
      return true;
    }
    return false;
  }

  /**
   * The first unsettled slots execution waits on: our CONFIRM again, marked as asking for the
   * others' (theirs may have been lost). Later slots wait their turn: pleading for a whole log
   * window on every retry is what swamps a busy replica.
   */
  plead(ctx: Ctx<NeoMsg>): void {
    const r = this.r;
    for (let slot = r.log.executed + 1; slot <= r.log.executed + PLEA_WINDOW; slot++) {
      // A mute replica has no CONFIRM to plead with (candidate()): it asks the leader, who hands
      // over the CONFIRMs it counted. The others' went out once, maybe while it was rejoining.
      if (r.mute) {
        if (this.candidates.has(slot) && !r.log.slots[slot] && this.pleaResends.due(slot, ctx.now)) {
          ctx.multicast(r.others(), { type: 'query', view: r.view, replica: r.p.index, slot });
        }
        continue;
      }
      const c = this.mine.get(slot);
      if (!c || r.log.slots[slot] || !this.pleaResends.due(slot, ctx.now)) continue;
      let plea = this.pleas.get(slot);
      if (!plea) {
        plea = sign<Confirm>({ ...c, need: true }, r.p.keys);
        this.pleas.set(slot, plea);
      }
      ctx.multicast(r.others(), plea);
    }
  }

  /** Forgets what slots final for a whole interval no longer need. */
  compact(upto: number): void {
    for (const map of [this.mine, this.pleas, this.bySlot, this.candidates, this.unconfirmedSince] as Map<number, unknown>[]) {
      for (const slot of map.keys()) if (slot <= upto) map.delete(slot);
    }
    this.pleaResends.forgetWhere((slot) => slot <= upto);
  }

  /**
   * A new view: confirms name their view, so ours start over. Within the epoch, what AOM
   * delivered past the merged log is still the sequencer's word but is never delivered again:
   * returned to be confirmed anew, the version we confirmed before (dropped, a slot stayed
   * empty at every replica for good). A mute replica confirmed nothing: it keeps every version
   * it was delivered, to fill the slot once the others' new CONFIRMs agree on one (dropped, it
   * had their CONFIRMs and nothing to fill: it executed nothing more until the next view change).
   */
  newView(newEpoch: boolean, mergedLast: number): (readonly [number, OrderedMulticast])[] {
    const r = this.r;
    const reconfirm = newEpoch ? [] : [...this.candidates].flatMap(([slot, byDigest]) => {
      if (slot <= mergedLast || r.log.slots[slot]) return [];
      const c = this.mine.get(slot);
      const versions = c ? [byDigest.get(hex(c.digest))] : r.mute ? [...byDigest.values()] : [];
      return versions.flatMap((oc) => (oc ? [[slot, oc] as const] : []));
    });
    this.candidates.clear();
    this.mine.clear();
    this.unconfirmedSince.clear();
    this.pleas.clear();
    this.pleaResends.clear();
    return reconfirm;
  }
}
