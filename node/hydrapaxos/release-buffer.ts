import { Heap } from 'heap-js';
import { type LogEntry, ORIGIN, type OrderKey, type SlotId, entryKey, keyAtMost, keyBefore, slotKey } from './messages.js';

/** A drop notification whose slot is not decided yet. */
interface PendingDrop {
  slot: SlotId;
  /** A lower bound on the lost message's place: the last message Hydra delivered before its drop notification. */
  bound: OrderKey;
}

/**
 * Puts a replica's Hydra deliveries into log order. Hydra delivers messages in (clock,
 * sequencer) order and a drop notification no later than the lost message's place, so the
 * lost message lies after everything delivered before its notification. Messages wait here
 * while an unresolved drop notification might still precede them; a message recovered from a
 * peer goes back in its place by its key, but leaves only once Hydra's delivery has passed
 * that key (`reached`): a drop notification may come long before its message's place, and
 * messages or drops of other sequencers may still be delivered ahead of it. A slot filled
 * with a NO-OP simply disappears. What leaves (`drain`) is a complete prefix of the global
 * order: every message before it is either in the log already or a NO-OP.
 */
export class ReleaseBuffer {
  /** Unresolved drop notifications, in delivery order (their bounds never decrease). */
  private drops: PendingDrop[] = [];
  private readonly ready = new Heap<LogEntry>((a, b) => a.clock - b.clock || a.slot.sequencer - b.slot.sequencer);
  private readonly bySlot = new Map<string, LogEntry>();
  private lastDelivered: OrderKey = ORIGIN;
  /** Hydra's delivery point (`Receiver.deliveredThrough`). */
  private hydraThrough: OrderKey = ORIGIN;

  /** Hydra has delivered (a message or its drop notification) everything up to `key`. */
  reached(key: OrderKey): void {
    if (keyBefore(this.hydraThrough, key)) this.hydraThrough = key;
  }

  /** A message Hydra delivered. */
  delivered(e: LogEntry): void {
    const k = entryKey(e);
    if (keyBefore(this.lastDelivered, k)) this.lastDelivered = k;
    this.reached(k);
    this.add(e);
  }

  /** A drop notification Hydra delivered. */
  dropped(slot: SlotId): void {
    this.drops.push({ slot, bound: this.lastDelivered });
  }

  /** The message of a pending drop, recovered from a peer. */
  recovered(e: LogEntry): void {
    if (!this.isWaiting(e.slot)) return;
    this.remove(e.slot);
    this.add(e);
  }

  /** A pending drop (or a waiting message) whose slot is now a NO-OP. */
  noop(slot: SlotId): void {
    this.remove(slot);
    const e = this.bySlot.get(slotKey(slot));
    if (e) {
      this.bySlot.delete(slotKey(slot));
      const rest = this.ready.toArray().filter((x) => x !== e);
      this.ready.clear();
      this.ready.init(rest);
    }
  }

  isWaiting(slot: SlotId): boolean {
    if (this.drops.length === 0) return false;
    const k = slotKey(slot);
    return this.drops.some((p) => slotKey(p.slot) === k);
  }

  get(slot: SlotId): LogEntry | undefined {
    return this.bySlot.get(slotKey(slot));
  }

  /** Takes a waiting message back out (a hold covers it): its slot waits again, after `bound`. */
  setAside(slot: SlotId, bound: OrderKey): void {
    this.noop(slot);
    let i = 0;
    while (i < this.drops.length && keyAtMost(this.drops[i]!.bound, bound)) i++;
    this.drops.splice(i, 0, { slot, bound });
  }

  /** The messages waiting to join the log. */
  entries(): IterableIterator<LogEntry> {
    return this.bySlot.values();
  }

  /** Slots still waiting for their message or a NO-OP. */
  waiting(): SlotId[] {
    return this.drops.map((p) => p.slot);
  }

  /** Messages that can join the log now, in order. */
  drain(): LogEntry[] {
    const out: LogEntry[] = [];
    const first = this.drops[0];
    for (;;) {
      const e = this.ready.peek();
      if (!e || !keyAtMost(entryKey(e), this.hydraThrough) || (first && !keyAtMost(entryKey(e), first.bound))) break;
      this.ready.pop();
      this.bySlot.delete(slotKey(e.slot));
      out.push(e);
    }
    return out;
  }

  /**
   * After the log jumped to `end` (a new view or a state transfer): drops what is decided
   * already and knows that what still waits lies past `end`.
   */
  rebase(end: OrderKey, decided: (slot: SlotId) => boolean): void {
    this.drops = this.drops.filter((p) => !decided(p.slot))
      .map((p) => (keyBefore(p.bound, end) ? { ...p, bound: end } : p));
    const rest = this.ready.toArray().filter((e) => !decided(e.slot));
    this.ready.clear();
    this.ready.init(rest);
    this.bySlot.clear();
    for (const e of rest) this.bySlot.set(slotKey(e.slot), e);
    if (keyBefore(this.lastDelivered, end)) this.lastDelivered = end;
    this.reached(end);
  }

  /** Puts entries taken back out of the log (past a new view's end) back in; a slot decided elsewhere waits as a pending drop. */
  reinsert(entries: LogEntry[], waiting: SlotId[], bound: OrderKey): void {
    for (const e of entries) this.add(e);
    for (const slot of waiting) if (!this.isWaiting(slot)) this.drops.unshift({ slot, bound });
  }

  get size(): number {
    return this.ready.length + this.drops.length;
  }

  private add(e: LogEntry): void {
    const k = slotKey(e.slot);
    if (this.bySlot.has(k)) return;
    this.bySlot.set(k, e);
    this.ready.push(e);
  }

  private remove(slot: SlotId): void {
    const k = slotKey(slot);
    this.drops = this.drops.filter((p) => slotKey(p.slot) !== k);
  }
}
