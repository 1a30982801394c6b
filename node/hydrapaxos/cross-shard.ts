import type { Ctx, NodeId } from '../runtime/core.js';
import type { HoldTable } from './holds.js';
import {
  type Hold, type HoldState, type HydraPaxosMsg, type LogEntry, type PxTxnAnswer, type PxTxnDecide, type PxTxnFind, type SlotId,
  type Stamp, stampKey,
} from './messages.js';

/** What the resolver needs of the shard's replica (only its leader resolves). */
export interface CrossShardHost {
  readonly group: number;
  readonly holds: HoldTable;
  /** The replicas of every group, by group. */
  readonly shards: NodeId[][];
  /** Records the hold at f+1 replicas of this shard (sending as needed); true once they have it. */
  replicateHold(ctx: Ctx<HydraPaxosMsg>, hold: Hold): boolean;
  /** The message bearing `stamp` if this replica has it: stable (part of the log for good), pending, or held. */
  lookup(stamp: Stamp): { entry: LogEntry; status: 'stable' | 'pending' | 'held' | 'dropped' } | null;
  /** A message decided found: let it into the log at its slot here, if this shard is one of its groups. */
  release(ctx: Ctx<HydraPaxosMsg>, entry: LogEntry): void;
  decided(outcome: 'found' | 'dropped'): void;
}

interface Coordination {
  stamp: Stamp;
  answers: Map<number, PxTxnAnswer['status']>;
  decision: { entry: LogEntry | null } | null;
  acked: Set<number>;
}

/**
 * Resolves a message lost by a whole shard when it may have gone to other shards too (HydraTxn,
 * the failure-coordinator role of Eris, taken by the leader of the shard that lost it). A
 * shard cannot tell which other shards a lost message went to: it knows only its own stamp. So:
 *
 * 1. The coordinator records a hold on its stamp at f+1 of its replicas, then asks every other
 *    shard about the stamp.
 * 2. A shard's leader answers once, and stickily: `found` if the message is stable in its log
 *    (it will be executed there whatever happens), otherwise it records a hold on the stamp at
 *    f+1 of its replicas — the message, if it ever shows up, waits and is never executed before
 *    a decision — and answers `held` (or `dropped` if a decision to drop it is known). A message
 *    it has but not stably yet gets no answer until it is stable or held.
 * 3. Any `found` decides found: the message goes to every shard (holds released, executed in its
 *    place). `held` from every shard decides dropped: each shard fills its slot with a NO-OP.
 *
 * Two coordinators of one message (it was lost at two shards) reach the same decision: each
 * shard's answer about a message never changes (a shard that holds one stamp of it answers
 * `held` for all of its stamps), holds and decisions survive view changes (f+1 record them and
 * a new leader merges the holds of f+1), and a held message is taken out of a new leader's log.
 * So a transaction runs at every shard it addresses or at none. A decision is resent until
 * every shard's leader acknowledges it. Limit: a shard finds a message for a coordinator only
 * while it is in its log or among its most recent stable entries (replica.ts keeps 8192); a
 * coordinator asking later than that would be told `held` by a shard that executed it, so the
 * guarantee assumes a loss is resolved within 8192 operations of its shards (milliseconds here).
 */
export class CrossShard {
  private readonly coordinations = new Map<string, Coordination>();

  constructor(private readonly host: CrossShardHost) {}

  /** Starts resolving a slot of this shard that none of its replicas could fill. */
  coordinate(ctx: Ctx<HydraPaxosMsg>, slot: SlotId): void {
    const stamp: Stamp = { ...slot, group: this.host.group };
    const k = stampKey(stamp);
    if (this.coordinations.has(k)) return;
    this.coordinations.set(k, { stamp, answers: new Map(), decision: null, acked: new Set() });
    this.step(ctx, this.coordinations.get(k)!);
  }

  /** A new view: coordination restarts from the new leader's gaps. */
  reset(): void {
    this.coordinations.clear();
  }

  /** Resends what is unanswered or unacknowledged. */
  tick(ctx: Ctx<HydraPaxosMsg>): void {
    for (const c of [...this.coordinations.values()]) this.step(ctx, c);
  }

  private others(): number[] {
    return this.host.shards.map((_, g) => g).filter((g) => g !== this.host.group);
  }

  private step(ctx: Ctx<HydraPaxosMsg>, c: Coordination): void {
    if (!c.decision) {
      if (!this.host.replicateHold(ctx, { ...c.stamp, state: 'held' })) return;
      const to = this.others().filter((g) => !c.answers.has(g)).flatMap((g) => this.host.shards[g]!);
      if (to.length === 0) this.decide(ctx, c, null);
      else ctx.multicast(to, { type: 'px-txn-find', group: this.host.group, stamp: c.stamp });
      return;
    }
    const state: HoldState = c.decision.entry ? 'released' : 'dropped';
    if (!this.host.replicateHold(ctx, { ...c.stamp, state })) return;
    if (c.decision.entry) this.host.release(ctx, c.decision.entry);
    const to = this.others().filter((g) => !c.acked.has(g)).flatMap((g) => this.host.shards[g]!);
    if (to.length === 0) {
      this.coordinations.delete(stampKey(c.stamp));
      return;
    }
    ctx.multicast(to, { type: 'px-txn-decide', group: this.host.group, stamp: c.stamp, entry: c.decision.entry });
  }

  private decide(ctx: Ctx<HydraPaxosMsg>, c: Coordination, entry: LogEntry | null): void {
    c.decision = { entry };
    this.host.decided(entry ? 'found' : 'dropped');
    this.step(ctx, c);
  }

  onAnswer(ctx: Ctx<HydraPaxosMsg>, m: PxTxnAnswer): void {
    const c = this.coordinations.get(stampKey(m.stamp));
    if (!c || c.decision || m.group === this.host.group || m.group >= this.host.shards.length) return;
    c.answers.set(m.group, m.status);
    if (m.status === 'found' && m.entry) this.decide(ctx, c, m.entry);
    else if (m.status === 'dropped' || c.answers.size === this.others().length) this.decide(ctx, c, null);
  }

  /** Another shard asks about a stamp (this replica is its shard's leader). */
  onFind(ctx: Ctx<HydraPaxosMsg>, m: PxTxnFind): void {
    const to = this.host.shards[m.group];
    if (!to || m.group === this.host.group) return;
    const answer = (status: PxTxnAnswer['status'], entry: LogEntry | null = null) =>
      ctx.multicast(to, { type: 'px-txn-answer', group: this.host.group, stamp: m.stamp, status, entry });
    const hold = this.host.holds.get(m.stamp);
    if (hold?.state === 'dropped') return answer('dropped');
    const found = this.host.lookup(m.stamp);
    if (found) {
      if (found.status === 'stable') answer('found', found.entry);
      else if (found.status === 'held' || found.status === 'dropped') answer(found.status);
      return;
    }
    // Decided found elsewhere but not here (yet): the shards that have it answer.
    if (hold?.state === 'released') return;
    if (this.host.replicateHold(ctx, { ...m.stamp, state: 'held' })) answer('held');
  }

  /** A coordinator's decision (this replica is its shard's leader). */
  onDecide(ctx: Ctx<HydraPaxosMsg>, m: PxTxnDecide): void {
    const to = this.host.shards[m.group];
    if (!to || m.group === this.host.group) return;
    if (!this.host.replicateHold(ctx, { ...m.stamp, state: m.entry ? 'released' : 'dropped' })) return;
    if (m.entry) this.host.release(ctx, m.entry);
    ctx.multicast(to, { type: 'px-txn-decided', group: this.host.group, stamp: m.stamp });
  }

  onDecided(ctx: Ctx<HydraPaxosMsg>, group: number, stamp: Stamp): void {
    const c = this.coordinations.get(stampKey(stamp));
    if (!c?.decision) return;
    c.acked.add(group);
    this.step(ctx, c);
  }
}
