import type { Ctx } from '../runtime/core.js';
import type { OrderedMulticast } from './aom-messages.js';
import type { AomDelivery } from './aom-receiver.js';
import { verifyRelayedOc } from './auth.js';
import type { NeoMsg } from './messages.js';
import type { Replica } from './replica.js';
import { LOG_WINDOW, MAX_HELD } from './replica-params.js';

/**
 * The normal case (NeoBFT §5; docs/neobft.md#normal-case): AOM's deliveries fill slots in
 * sequence order (in Byzantine-network mode only once 2f+1 CONFIRMs agree: confirm.ts); a drop
 * notification opens the slot for QUERY or gap agreement (gap-agreement.ts). Deliveries wait
 * while a view change runs or the epoch is not certified, and past the log window.
 */
export class NormalCase {
  /** AOM deliveries held while a view change runs or a new epoch is not yet certified. */
  held: AomDelivery[] = [];
  /** Delivered past the log window, filled once the sync point moves on. */
  readonly deferred = new Map<number, OrderedMulticast>();
  /** Since when deliveries have waited past the log window without the sync point moving. */
  deferredSince: number | null = null;

  constructor(private readonly r: Replica) {}

  /** Deliveries wait while a view change runs, or while the current epoch has no certificate yet. */
  private get holding(): boolean {
    const r = this.r;
    return r.recovery.active || r.status === 'view-change' || r.sync.certifiedEpoch < r.view.epoch;
  }

  onDelivery(ctx: Ctx<NeoMsg>, d: AomDelivery): void {
    const r = this.r;
    // Epoch 1's sequencer is ordering: our EPOCH-START reached it.
    r.sync.epochOneStart = null;
    if (d.kind === 'message') r.clients.noteDelivered(d.msg);
    if (this.holding) {
      if (this.held.length < MAX_HELD) this.held.push(d);
      return;
    }
    if (d.kind === 'message') {
      const slot = r.slotOf(d.msg);
      if (r.log.slots[slot] || slot <= r.sync.point) return;
      if (slot > r.sync.point + LOG_WINDOW) {
        this.deferred.set(slot, d.msg);
        this.deferredSince ??= ctx.now;
        return;
      }
      this.take(ctx, slot, d.msg);
      return;
    }
    const slot = r.epochStarts.get(r.view.epoch)! + d.seq;
    if (r.log.slots[slot] || slot <= r.sync.point) return;
    r.log.markMissing(slot, ctx.now);
    if (slot > r.sync.point + LOG_WINDOW) return;
    r.gaps.chase(ctx, slot);
  }

  /** A delivered message for `slot`: filled, or in Byzantine-network mode confirmed first. */
  private take(ctx: Ctx<NeoMsg>, slot: number, oc: OrderedMulticast): void {
    if (this.r.p.byzantineNetwork) this.r.confirms.candidate(ctx, slot, oc);
    else this.fill(ctx, slot, oc);
  }

  fill(ctx: Ctx<NeoMsg>, slot: number, oc: OrderedMulticast, confirmed = false): void {
    const r = this.r;
    const log = r.log;
    // Having voted GAP-DROP, we take the slot only from the agreement's decision: executing it
    // (and replying) as well would let a client and a no-op quorum both count us.
    if (log.slots[slot] || r.gaps.votedDrop(slot)) return;
    if (r.p.byzantineNetwork && !confirmed && !log.missing.has(slot)) return r.confirms.candidate(ctx, slot, oc);
    if (r.slotOf(oc) !== slot) {
      r.obs.invalid('certificate-for-another-slot');
      return;
    }
    if (log.missing.has(slot)) {
      const next = log.slots[slot + 1]?.oc;
      const linked = next && next.auth.scheme === 'pk' ? next.auth.linked : null;
      const auth = r.p.authFor(oc.header.epoch);
      if (!auth || !verifyRelayedOc(oc, r.p.index, auth, linked)) {
        r.obs.invalid('forged-certificate');
        return;
      }
      if (r.p.byzantineNetwork && !r.confirms.confirmedBy(slot, oc)) {
        r.confirms.candidate(ctx, slot, oc);
        return;
      }
      log.resolved(slot);
    }
    const request = r.clients.openRequest(oc.payload, true);
    log.slots[slot] = { oc, request };
    r.confirms.unconfirmedSince.delete(slot);
    r.clients.noteDelivered(oc);
    if (r.p.byzantineNetwork) log.slots[slot].proof = r.confirms.proof(slot, oc);
    log.execute(ctx);
  }

  /** Deliveries that waited past the log window, now that the sync point moved. */
  releaseDeferred(ctx: Ctx<NeoMsg>): void {
    const point = () => this.r.sync.point;
    for (const [slot, oc] of this.deferred) {
      if (slot > point() + LOG_WINDOW) continue;
      this.deferred.delete(slot);
      if (slot <= point()) continue;
      this.take(ctx, slot, oc);
    }
    this.deferredSince = this.deferred.size > 0 ? ctx.now : null;
  }

  /** Delivers what AOM handed over while we were holding. */
  release(ctx: Ctx<NeoMsg>): void {
    const held = this.held;
    this.held = [];
    for (const d of held) this.onDelivery(ctx, d);
  }
}
