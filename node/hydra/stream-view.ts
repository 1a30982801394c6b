import type { Groupcast } from './messages.js';

/** Per-sequencer state (docs/hydra.md#receivers-and-the-minimum-barrier): c[i], the delivery cursor, and what we saw of it. */
export interface SeqView {
  id: number;
  joined: number;
  /** c[i]: the highest clock known from this sequencer (messages and flushes). */
  clock: number;
  /** Next sequence number of our group to deliver or drop-notify. */
  next: number;
  /** Highest sequence number already covered by a buffered message or flush marker. */
  covered: number;
  /** Buffered messages: sequence number → clock. */
  pendingSeqs: Map<number, number>;
  /** Sequence numbers declared lost whose drop notifications are still buffered. */
  lost: Set<number>;
  /** Clock of the last message delivered from it (or its start frontier). */
  deliveredClock: number;
  /** When a gap below `covered` was first seen (-1: no gap). */
  gapSince: number;
  lastHeard: number;
  /** Whether anything arrived from it yet; a member still booting gets a longer grace. */
  heard: boolean;
  suspectedAt: number;
  solicitedAt: number;
  /** Removal in progress: its input is ignored until the final flush arrives. */
  frozen: boolean;
  /** Highest counters seen from it for every group (reported when it is removed). */
  observedSeqs: number[];
  observedClock: number;
  /** When a claim from it last raised (or, a flush, restated) the numbers above; its admission before that. */
  claimedAt: number;
  /** Set when it is removed: its numbers past this were never part of any configuration. */
  finalSeq: number;
  /** Whether we know where its stream starts for us (see `startStream`); until then it holds the frontier. */
  started: boolean;
}

/** A place in Hydra's order: (clock, sequencer id). */
export interface Key {
  clock: number;
  sequencer: number;
}

/** Whether a precedes b in Hydra's order. */
export const before = (a: Key, b: Key) => a.clock < b.clock || (a.clock === b.clock && a.sequencer < b.sequencer);

/**
 * How far past what we have seen a sequencer's numbers may claim to be (see `plausible`): the
 * slack for the numbers it stamped while an earlier claim was still on its way to us (65,536
 * covers 6.5 s of queueing at 10k stamps per second and group, well past the failure timeout).
 */
export const SEQ_WINDOW = 1 << 16;
/**
 * Numbers a sequencer can stamp per microsecond of our clock, at most: each stamp takes at least
 * one microsecond of its strictly monotonic clock (docs/hydra.md#sequencer; `Sequencer.tick`), and an
 * emulated clock runs less than 1.5 times as fast as real time (`hydraParams` drift < 0.5).
 */
export const STAMPS_PER_US = 2;

/**
 * A stream's first claim numbered at most this is taken to start at number 1: what is missing
 * below it is drop-notified, as any gap. A first claim numbered higher means we came in late
 * (a restart with empty state), and the stream starts right after what the claim covers.
 */
export const FRESH_START = 1024;

/** A sequencer incarnation's stream as a configuration lists it: not placed yet, starting at its start frontier. */
export function newView(a: { sequencer: number; joined: number; start: number }, now: number): SeqView {
  return {
    id: a.sequencer, joined: a.joined, clock: a.start, next: 1, covered: 0, pendingSeqs: new Map(), lost: new Set(),
    deliveredClock: a.start, gapSince: -1,
    lastHeard: now, heard: false, suspectedAt: -Infinity, solicitedAt: -Infinity, frozen: false,
    observedSeqs: [], observedClock: a.start, claimedAt: now, finalSeq: Infinity, started: false,
  };
}

/** Whether a number below what is covered is neither buffered nor declared lost. */
export function hasGap(v: SeqView): boolean {
  return v.covered - v.next + 1 > v.pendingSeqs.size + v.lost.size;
}

/** How far sequencer v lets the frontier go: c[i], or the clock of its last message before a gap. */
export function bound(v: SeqView): Key {
  if (!hasGap(v)) return { clock: v.clock, sequencer: v.id };
  let clock = v.deliveredClock;
  for (let s = v.next; s <= v.covered; s++) {
    const c = v.pendingSeqs.get(s);
    if (c !== undefined) clock = c;
    else if (!v.lost.has(s)) break;
  }
  return { clock, sequencer: v.id };
}

/** A groupcast's (group, sequence number) pairs: its stamps in the order of its group bitmap. */
export function stampsOf(m: Groupcast): [number, number][] {
  const out: [number, number][] = [];
  for (let g = 0; g < 32 && out.length < m.stamps.length; g++) if (m.groups & (1 << g)) out.push([g, m.stamps[out.length]!]);
  return out;
}
