/**
 * Retransmission with exponential backoff, per item (a slot, a view): an item still unresolved
 * is sent again after `baseUs`, then after twice as long each time, up to `maxUs` (TCP's RTO
 * backoff, RFC 6298 §5.5). A fixed period makes an overloaded replica's backlog worse: every
 * unresolved item is resent on every tick, each resend costs the receivers a signature check,
 * and the queues the resends fill delay the answers that would resolve them (seen as a NeoBFT
 * testbed on a busy 2-core machine that stopped committing). Pure: times are the caller's.
 */
export class Backoff<K> {
  private readonly next = new Map<K, { at: number; interval: number }>();

  constructor(private readonly baseUs: number, private readonly maxUs: number) {
    if (!(baseUs > 0) || maxUs < baseUs) throw new Error(`a backoff needs 0 < base ≤ max, not ${baseUs} and ${maxUs}`);
  }

  /**
   * Whether `key`, unresolved at `now`, is due to be sent again. An item seen for the first time
   * waits one base interval (it was just sent); each resend doubles the wait.
   */
  due(key: K, now: number): boolean {
    const e = this.next.get(key);
    if (!e) {
      this.next.set(key, { at: now + this.baseUs, interval: this.baseUs });
      return false;
    }
    if (now < e.at) return false;
    e.interval = Math.min(2 * e.interval, this.maxUs);
    e.at = now + e.interval;
    return true;
  }

  /** The item is resolved (or starts over): its next resend waits a base interval again. */
  forget(key: K): void {
    this.next.delete(key);
  }

  /** Forgets every item `done` says is resolved. */
  forgetWhere(done: (key: K) => boolean): void {
    for (const key of this.next.keys()) if (done(key)) this.next.delete(key);
  }

  clear(): void {
    this.next.clear();
  }

  get size(): number {
    return this.next.size;
  }
}
