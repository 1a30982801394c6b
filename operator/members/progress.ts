import type { ProgressCounter, ProgressSignal } from '../plan/types.js';
import { type Sample, total } from './exposition.js';

/** One member's metrics at one reading, or why they could not be read. */
export type MemberReading = Sample[] | Error;

export type Verdict =
  /** Not long enough without progress to judge (just started, or recently moved but not yet seen moving). */
  | { state: 'waiting' }
  | { state: 'progressing' }
  /** Members answered, and the counter did not move for longer than the window. */
  | { state: 'stalled'; windowMs: number; meanwhile: boolean | null }
  /** No member of the counted role answered for longer than the window. */
  | { state: 'unknown'; windowMs: number; error: string };

/** Prometheus' increase between two readings of a counter: a lower value means the member restarted from 0. */
const increase = (before: number, after: number) => (after >= before ? after - before : after);

/** Per-member last values of one counter; `step` says whether any member's moved since the previous reading. */
class CounterMemory {
  private readonly last = new Map<string, number>();

  constructor(readonly c: ProgressCounter) {}

  /** Returns whether a member of the role answered, and whether the counter moved. */
  step(readings: Map<string, MemberReading>): { answered: boolean; moved: boolean; error: string | null } {
    let answered = false;
    let moved = false;
    let error: string | null = null;
    for (const [member, r] of readings) {
      if (!member.startsWith(this.c.members)) continue;
      if (r instanceof Error) {
        error = `${member}: ${r.message}`;
        continue;
      }
      answered = true;
      const v = total(r, this.c.metric, this.c.labels);
      const before = this.last.get(member);
      if (before !== undefined && increase(before, v) > 0) moved = true;
      this.last.set(member, v);
    }
    return { answered, moved, error };
  }
}

/**
 * Whether a testbed's protocol makes progress, from successive readings of its members' own
 * counters (issue 18, "status tells the truth"): the counter of `signal` must move at some
 * member within `windowMs`, else the protocol is stalled. Pure: the caller passes the time of
 * each reading, so recorded metric texts replay exactly.
 */
export class ProgressTracker {
  private readonly counter: CounterMemory;
  private readonly meanwhile: CounterMemory | null;
  /** Time of the last progress (or of the first reading); null before the first reading. */
  private since: number | null = null;
  private answeredAt: number | null = null;
  private moved = false;
  private meanwhileMoved: boolean | null = null;
  private error = '';

  constructor(readonly signal: ProgressSignal, readonly windowMs: number) {
    this.counter = new CounterMemory(signal.counter);
    this.meanwhile = signal.meanwhile ? new CounterMemory(signal.meanwhile) : null;
  }

  observe(now: number, readings: Map<string, MemberReading>): void {
    this.since ??= now;
    const c = this.counter.step(readings);
    if (c.error) this.error = c.error;
    if (c.answered) this.answeredAt = now;
    const m = this.meanwhile?.step(readings);
    if (c.moved) {
      this.since = now;
      this.moved = true;
      this.meanwhileMoved = null;
    } else if (m?.answered) {
      this.meanwhileMoved = (this.meanwhileMoved ?? false) || m.moved;
    }
  }

  verdict(now: number): Verdict {
    if (this.since === null) return { state: 'waiting' };
    if (now - this.since <= this.windowMs) return this.moved ? { state: 'progressing' } : { state: 'waiting' };
    if (this.answeredAt === null || now - this.answeredAt > this.windowMs) return { state: 'unknown', windowMs: this.windowMs, error: this.error };
    return { state: 'stalled', windowMs: this.windowMs, meanwhile: this.meanwhileMoved };
  }
}

/**
 * What a stall looks like to a user, e.g. `receivers delivered nothing for 30 s; sequencers
 * kept stamping; configuration service at configuration 1`.
 */
export function describeVerdict(signal: ProgressSignal, v: Verdict, status: string | null): string {
  const c = signal.counter;
  const m = signal.meanwhile;
  const parts: string[] = [];
  if (v.state === 'stalled') {
    parts.push(`${c.role} ${c.did} nothing for ${Math.round(v.windowMs / 1000)} s`);
    if (m && v.meanwhile !== null) parts.push(v.meanwhile ? `${m.role} kept ${m.doing}` : `${m.role} ${m.did} nothing either`);
  } else if (v.state === 'unknown') {
    parts.push(`${c.role}' /metrics did not answer for ${Math.round(v.windowMs / 1000)} s${v.error ? ` (${v.error})` : ''}`);
  } else if (v.state === 'progressing') {
    parts.push(`${c.role} ${c.doing}`);
  }
  if (status && v.state !== 'progressing') parts.push(status);
  return parts.join('; ');
}
