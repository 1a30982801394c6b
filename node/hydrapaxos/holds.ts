import { type Hold, type HoldState, type LogEntry, type Stamp, stampKey, stampsOf } from './messages.js';

const RANK: Record<HoldState, number> = { held: 1, released: 2, dropped: 3 };
/** A hold state's rank; 'none' for a replica not known to have the hold. */
export const holdRank = (s: HoldState | 'none') => (s === 'none' ? 0 : RANK[s]);

/**
 * A shard's holds on messages by stamp (HydraTxn). A hold only ever moves up: held → released
 * or dropped (the two decisions never both happen for one message: see cross-shard.ts), so
 * merging two replicas' tables (a view change) keeps the furthest state of each. Holds are
 * kept for the replica's lifetime: one small entry per message a whole shard lost.
 */
export class HoldTable {
  private readonly holds = new Map<string, Hold>();

  /** Records a hold; whether it changed anything. */
  set(h: Hold): boolean {
    const k = stampKey(h);
    const had = this.holds.get(k);
    if (had && RANK[had.state] >= RANK[h.state]) return false;
    this.holds.set(k, { sequencer: h.sequencer, epoch: h.epoch, group: h.group, seq: h.seq, state: h.state });
    return true;
  }

  get(s: Stamp): Hold | undefined {
    return this.holds.get(stampKey(s));
  }

  /**
   * What the holds say about a message: dropped if any of its stamps is; free if any is
   * released (decided found) or none is held; otherwise held.
   */
  verdict(e: LogEntry): 'free' | 'held' | 'dropped' {
    if (this.holds.size === 0) return 'free';
    let held = false;
    let released = false;
    for (const s of stampsOf(e)) {
      const h = this.holds.get(stampKey(s));
      if (h?.state === 'dropped') return 'dropped';
      if (h?.state === 'released') released = true;
      if (h?.state === 'held') held = true;
    }
    return held && !released ? 'held' : 'free';
  }

  all(): Hold[] {
    return [...this.holds.values()];
  }
}
