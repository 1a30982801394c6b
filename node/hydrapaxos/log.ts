import type { Execution, StateMachine, StateMachineKind } from '../apps/state-machine.js';
import { invariant } from '../protocol/invariant.js';
import { WireError } from '../runtime/core.js';
import {
  type LogEntry, type LogPoint, type LogState, ORIGIN, type OrderKey, type SlotId, type StreamCounter,
  entryKey, keyAtMost, keyBefore, slotKey, streamKey,
} from './messages.js';
import type { HydraPaxosObserver } from './replica-params.js';

interface Logged {
  entry: LogEntry;
  undo: Execution['undo'] | null;
}

/** Entries recently made stable, kept a while to answer a lagging peer's gap requests without a state transfer. */
const RECENT = 8192;

const at = (key: OrderKey) => `(${key.clock}, ${key.sequencer})`;

/**
 * The replica's log (docs/hydrapaxos.md#log-and-execution; NOPaxos's, over Hydra's order): every entry since the sync point in
 * Hydra's order, executed as it is appended, with its undo record so that a view change or a
 * NO-OP can roll it back; the NO-OPs; each sequencer stream's next slot; the application store.
 * Everything up to the sync point is stable (held by f+1 replicas) and gone from the log.
 */
export class ReplicaLog {
  store: StateMachine;
  private entries: Logged[] = [];
  private readonly inLog = new Map<string, LogEntry>();
  private readonly recent = new Map<string, LogEntry>();
  syncPoint: LogPoint = { key: ORIGIN, streams: [] };
  streams = new Map<string, StreamCounter>();
  /** Hydra's order key of the last entry (the sync point's when the log is empty). */
  end: OrderKey = ORIGIN;
  noops = new Map<string, SlotId>();
  /** Whether this replica ever held state: it then never answers a booting peer "empty". */
  hadState = false;
  executed = 0;

  constructor(private readonly app: StateMachineKind, private readonly obs: HydraPaxosObserver, private readonly where: () => string) {
    this.store = app.create();
  }

  get length(): number {
    return this.entries.length;
  }

  /** The log's entries since the sync point, in order. */
  list(): LogEntry[] {
    return this.entries.map((l) => l.entry);
  }

  /** Whether the slot is in the log (or was, before the sync point) or is a NO-OP. */
  decided(slot: SlotId): boolean {
    return slot.seq < (this.streams.get(streamKey(slot.sequencer, slot.epoch))?.next ?? 1) || this.noops.has(slotKey(slot));
  }

  /**
   * A slot the point (a leader's SYNC point) counts and we have neither logged nor as a NO-OP, or
   * null: with our log end at or past the point, such a slot was skipped (our Hydra receiver never
   * delivered nor drop-notified it: a restarted receiver that jumped over configurations in which
   * a sequencer incarnation came and went, or whose peer-given position names a stream it had
   * already removed). Stream counters are this log's op numbers (NOPaxos compares op numbers).
   */
  lacking(point: LogPoint): SlotId | null {
    for (const s of point.streams) {
      for (let seq = this.streams.get(streamKey(s.sequencer, s.epoch))?.next ?? 1; seq < s.next; seq++) {
        const slot = { sequencer: s.sequencer, epoch: s.epoch, seq };
        if (!this.noops.has(slotKey(slot))) return slot;
      }
    }
    return null;
  }

  /** Whether the slot is a NO-OP or in the log since the sync point. */
  holds(slot: SlotId): boolean {
    return this.noops.has(slotKey(slot)) || this.inLog.has(slotKey(slot));
  }

  /** The entry of a slot in the log or recently made stable. */
  find(slot: SlotId): LogEntry | undefined {
    return this.inLog.get(slotKey(slot)) ?? this.recent.get(slotKey(slot));
  }

  /** Executes an entry and appends it; its execution, or null when the application refused the request (counted). */
  append(e: LogEntry): Execution | null {
    let exec: Execution | null = null;
    try {
      exec = this.store.execute(e.request);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      // Every replica logs the same bytes, so every replica skips it alike.
      this.obs.rejected(err.reason === 'unknown-client' ? err.reason : 'bad-request');
    }
    invariant(this.entries.length === 0 || keyBefore(this.end, entryKey(e)), 'log-order', () =>
      `slot ${slotKey(e.slot)} at ${at(entryKey(e))} appended after the log end ${at(this.end)} (slot ${slotKey(this.entries[this.entries.length - 1]!.entry.slot)}; ${this.where()})`);
    this.entries.push({ entry: e, undo: exec?.undo ?? null });
    this.inLog.set(slotKey(e.slot), e);
    const sk = streamKey(e.slot.sequencer, e.slot.epoch);
    const s = this.streams.get(sk);
    if (!s || e.slot.seq >= s.next) this.streams.set(sk, { sequencer: e.slot.sequencer, epoch: e.slot.epoch, next: e.slot.seq + 1 });
    this.end = entryKey(e);
    this.hadState = true;
    this.executed++;
    this.obs.executed();
    return exec;
  }

  /** Undoes the log from index i on (its end moves back with it); returns what was undone, in log order. */
  rollbackTo(i: number): LogEntry[] {
    const undone = this.entries.splice(i);
    this.end = this.entries.length > 0 ? entryKey(this.entries[this.entries.length - 1]!.entry) : this.syncPoint.key;
    for (let j = undone.length - 1; j >= 0; j--) {
      const l = undone[j]!;
      if (l.undo) this.store.undo(l.undo);
      this.inLog.delete(slotKey(l.entry.slot));
      this.executed--;
    }
    invariant(this.executed >= 0, 'executed-count', () => `${this.executed} entries executed after undoing ${undone.length} (${this.where()})`);
    return undone.map((l) => l.entry);
  }

  /** The index of the first entry that matches, or -1. */
  findIndex(match: (e: LogEntry) => boolean): number {
    return this.entries.findIndex((l) => match(l.entry));
  }

  currentPoint(): LogPoint {
    return { key: this.end, streams: [...this.streams.values()] };
  }

  /**
   * The log up to `point` is held by f+1 replicas (NOPaxos's synchronization): it can no
   * longer change, so its undo records go; its entries stay a while in `recent`.
   */
  stabilize(point: LogPoint): void {
    if (!keyBefore(this.syncPoint.key, point.key)) return;
    const hole = this.lacking(point);
    invariant(hole === null, 'stable-prefix-complete', () =>
      `stabilizing at ${at(point.key)} while slot ${slotKey(hole!)} it counts is neither logged nor a NO-OP here (${this.where()})`);
    let i = 0;
    while (i < this.entries.length && keyAtMost(entryKey(this.entries[i]!.entry), point.key)) {
      const e = this.entries[i++]!.entry;
      this.inLog.delete(slotKey(e.slot));
      this.recent.set(slotKey(e.slot), e);
    }
    for (const k of this.recent.keys()) {
      if (this.recent.size <= RECENT) break;
      this.recent.delete(k);
    }
    this.entries.splice(0, i);
    this.syncPoint = point;
    const below = new Map(point.streams.map((s) => [streamKey(s.sequencer, s.epoch), s.next]));
    for (const [k, s] of this.noops) if (s.seq < (below.get(streamKey(s.sequencer, s.epoch)) ?? 1)) this.noops.delete(k);
  }

  /** The store as it was at the sync point: the log since undone, on a copy. */
  storeAtSync(): StateMachine {
    const atSync = this.app.restore(this.store.snapshot());
    for (let j = this.entries.length - 1; j >= 0; j--) {
      const u = this.entries[j]!.undo;
      if (u) atSync.undo(u);
    }
    return atSync;
  }

  /** The first entry `match` accepts, recently stable ones first, and whether it is stable. */
  search(match: (e: LogEntry) => boolean): { entry: LogEntry; status: 'stable' | 'pending' } | null {
    for (const e of this.recent.values()) if (match(e)) return { entry: e, status: 'stable' };
    for (const l of this.entries) if (match(l.entry)) return { entry: l.entry, status: 'pending' };
    return null;
  }

  /** A peer's state (state transfer): its store at its sync point, then its log since, executed here. */
  replace(store: StateMachine, l: LogState): void {
    this.store = store;
    this.entries = [];
    this.inLog.clear();
    this.executed = 0;
    this.syncPoint = l.sync;
    this.noops = new Map(l.noops.map((s) => [slotKey(s), s]));
    this.streams = new Map(l.sync.streams.map((s) => [streamKey(s.sequencer, s.epoch), s]));
    for (const e of l.entries) if (keyBefore(l.sync.key, entryKey(e)) && !this.holds(e.slot)) this.append(e);
    this.streams = new Map(l.end.streams.map((s) => [streamKey(s.sequencer, s.epoch), s]));
    this.end = l.end.key;
    this.hadState = true;
  }
}
