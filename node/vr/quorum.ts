import { leaderOf } from '../protocol/leader.js';
import { crashFaults } from '../protocol/quorum.js';

/** The arithmetic of a replica group of n = 2f + 1 members (f from the shared `crashFaults`; votes are counted against `size` by the shared `Votes`). */
export class Quorum {
  /** Failures tolerated: f. */
  readonly f: number;
  /** Members in a quorum: f + 1. */
  readonly size: number;

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1 || n % 2 === 0) throw new Error(`a replica group needs an odd number of members, not ${n}`);
    this.f = crashFaults(n);
    this.size = this.f + 1;
  }

  /** The primary of `view` (the shared leader rule: Viewstamped Replication Revisited §4, round-robin by replica number). */
  primaryOf(view: number): number {
    return leaderOf(view, this.n);
  }

  /**
   * The highest op-number that a quorum has acknowledged, given each member's highest
   * acknowledged op-number (one entry per member heard from), or 0 when fewer than a quorum.
   */
  highestAcknowledged(acks: readonly number[]): number {
    if (acks.length < this.size) return 0;
    return [...acks].sort((a, b) => b - a)[this.size - 1]!;
  }
}
