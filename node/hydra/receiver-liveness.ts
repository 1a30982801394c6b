import type { Ctx } from '../runtime/core.js';
import type { HydraMsg } from './messages.js';
import type { ReceiverObserver, ReceiverParams } from './receiver-params.js';
import { type Key, type SeqView, before } from './stream-view.js';
import { configNodes, sequencerNode } from './topology.js';

/** A sequencer never heard from is suspected only after this many failure timeouts (processes boot). */
const STARTUP_GRACE = 10;

/** How often a receiver checks for silent sequencers, and the aggregator's heartbeat: a quarter of the failure timeout. */
export const failureCheckUs = (failureTimeoutUs: number) => failureTimeoutUs / 4;

/**
 * A receiver's failure detection and flush solicitation over its sequencers' views
 * (docs/hydra.md#receivers-and-the-minimum-barrier, docs/hydra.md#flushes-and-the-aggregator):
 * whom it asks for a flush, whom it suspects, and whether input showed it is behind.
 */
export class ReceiverLiveness {
  /** The newest configuration input reached us stamped in; past ours, we are behind. */
  private newest = 0;
  /** Period of failure detection. */
  readonly checkEveryUs: number;
  /** When the failure-detection timer last fired. */
  private tickedAt = -Infinity;

  constructor(private readonly p: ReceiverParams, private readonly obs: ReceiverObserver) {
    this.checkEveryUs = failureCheckUs(p.failureTimeoutUs);
  }

  /** Whether input stamped in a configuration newer than `config` (ours) reached us: we missed a change. */
  behind(config: number): boolean {
    return this.newest > config;
  }

  /** Input stamped in a newer configuration shows us behind and its sequencer, if we know it, alive (docs/hydra.md#receivers-and-the-minimum-barrier). */
  heardNewer(now: number, v: SeqView | undefined, config: number): void {
    if (config > this.newest) this.newest = config;
    if (!v) return;
    v.lastHeard = now;
    v.heard = true;
  }

  /**
   * The configuration service sent `config`, its current one: input claiming a newer one than
   * that proved nothing (a forged or garbled number would otherwise keep us "behind", never
   * suspecting anyone, for good); real input of a newer configuration marks us behind again.
   */
  serviceAt(config: number): void {
    if (this.newest > config) this.newest = config;
  }

  /** Asks every quiet sequencer that holds back `head`, the head of the buffer, for a flush; whether any does. */
  solicit(ctx: Ctx<HydraMsg>, views: Iterable<SeqView>, head: Key | undefined, config: number, force: boolean): boolean {
    const targets: SeqView[] = [];
    if (head) {
      // A sequencer that keeps sending advances its clock by itself: only a quiet one is asked.
      const quiet = this.p.solicitIntervalUs / 4;
      for (const v of views) {
        if (!v.frozen && before({ clock: v.clock, sequencer: v.id }, head) && ctx.now - v.lastHeard >= quiet) targets.push(v);
      }
    }
    for (const v of targets) {
      if (force || ctx.now - v.solicitedAt >= this.p.solicitIntervalUs) {
        v.solicitedAt = ctx.now;
        ctx.send(sequencerNode(v.id), { type: 'flushreq', receiver: this.p.id, config });
        this.obs.solicited(v.id);
      }
    }
    return targets.length > 0;
  }

  /**
   * The failure-detection timer fired: whether two periods late. Then this process was not
   * running (a starved core, a long pause), what the sequencers sent meanwhile is still unread
   * in its socket, and their silence is no evidence: that check suspects nobody; the next, on
   * time, decides.
   */
  late(now: number): boolean {
    const late = now - this.tickedAt > 2 * this.checkEveryUs;
    this.tickedAt = now;
    return late;
  }

  /** Suspects silent sequencers in `config`; the receiver never asks while `behind` (it asks for the configuration then). */
  detectFailures(ctx: Ctx<HydraMsg>, views: Iterable<SeqView>, head: Key | undefined, config: number): void {
    for (const v of views) {
      const timeout = v.heard ? this.p.failureTimeoutUs : STARTUP_GRACE * this.p.failureTimeoutUs;
      if (v.frozen || ctx.now - v.lastHeard <= timeout) continue;
      const holdsUsBack = head !== undefined && before({ clock: v.clock, sequencer: v.id }, head);
      if (!this.p.periodicFlushes && !holdsUsBack) continue;
      if (ctx.now - v.suspectedAt < this.p.failureTimeoutUs / 2) continue;
      v.suspectedAt = ctx.now;
      ctx.multicast(configNodes(this.p.topology), { type: 'suspect', receiver: this.p.id, config, sequencer: v.id });
      this.obs.suspected(v.id);
    }
  }
}
