import { Votes } from '../protocol/quorum.js';
import type { Core, Ctx } from '../runtime/core.js';
import { type ReplicaKeys, verifySigned } from './auth.js';
import type { NeoMsg } from './messages.js';

export interface EpochSequencerParams {
  /** This sequencer's index; it orders epochs e with (e − 1) mod `count` = index. */
  index: number;
  count: number;
  f: number;
  /** The replicas' public keys (to check their EPOCH-STARTs). */
  replicaKeys: Pick<ReplicaKeys, 'publicKeys' | 'backend'>;
  /** The AOM sequencer of an epoch, under that epoch's keys (null: no keys for it). */
  make(epoch: number): Core<NeoMsg> | null;
}

export interface EpochSequencerObserver {
  installed(epoch: number): void;
  /** A request arrived while this sequencer orders no epoch. */
  idle(): void;
}

/**
 * A sequencer process across epochs. Any of them is installed for an epoch it serves once f+1
 * replicas (one correct at least) sent it their signed EPOCH-START for that epoch: for epoch 1,
 * replicas that found a fresh testbed when they started (nothing executed anywhere); for a later
 * one, after the view change agreed on everything the previous sequencer ordered. It then
 * numbers from 1 under that epoch's keys; a sequencer that was replaced simply gets no more
 * traffic, and replicas refuse its old epoch.
 *
 * A sequencer keeps nothing across a restart, so it never orders on its own: restarted, it
 * waits to be installed for a new epoch. Replicas that stop getting their requests ordered
 * meanwhile treat it as failed and move to the next epoch (its next sequencer, under fresh
 * keys), so it never numbers from 1 again in an epoch it ordered before.
 */
export class EpochSequencer implements Core<NeoMsg> {
  private epoch = 0;
  private core: Core<NeoMsg> | null = null;
  /** EPOCH-STARTs by epoch: f+1 install it. */
  private readonly starts = new Map<number, Votes>();

  constructor(private readonly p: EpochSequencerParams, private readonly obs: EpochSequencerObserver) {}

  get installedEpoch(): number {
    return this.epoch;
  }

  start(): void {}

  receive(ctx: Ctx<NeoMsg>, m: NeoMsg): void {
    if (m.type === 'sync') {
      const e = m.view.epoch;
      if (e <= this.epoch || (e - 1) % this.p.count !== this.p.index || m.slot !== m.epochStart) return;
      if (!verifySigned(m, this.p.replicaKeys)) return;
      let who = this.starts.get(e);
      if (!who) this.starts.set(e, (who = new Votes(this.p.f + 1)));
      who.add(m.replica, true);
      if (who.reached) this.install(ctx, e);
      return;
    }
    if (m.type !== 'aom-request') return;
    if (!this.core) return this.obs.idle();
    this.core.receive(ctx, m);
  }

  timer(ctx: Ctx<NeoMsg>, name: string): void {
    this.core?.timer(ctx, name);
  }

  private install(ctx: Ctx<NeoMsg>, epoch: number): void {
    const core = this.p.make(epoch);
    if (!core) return;
    this.epoch = epoch;
    this.core = core;
    for (const e of this.starts.keys()) if (e <= epoch) this.starts.delete(e);
    core.start(ctx);
    this.obs.installed(epoch);
  }
}
