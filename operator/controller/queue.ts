/**
 * A work queue in the manner of client-go's: a key is queued at most once, never processed by
 * two workers at once (a key re-added while in flight is processed again afterwards), and a
 * failing key is retried with exponential backoff.
 */
export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Keys waiting to be added, with when: one timer per key (the earliest wins, as in client-go's delaying queue). */
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly baseDelayMs = 200, private readonly maxDelayMs = 60_000) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.ready.push(key);
    this.waiters.shift()?.();
  }

  addAfter(key: string, ms: number): void {
    const at = Date.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Requeues after a failure: 200 ms, 400 ms, … up to a minute. */
  retry(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (n - 1));
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  get length(): number {
    return this.ready.length;
  }

  /** Runs `handle` on keys with up to `workers` in parallel until `stop`. */
  async run(workers: number, handle: (key: string) => Promise<void>): Promise<void> {
    const worker = async () => {
      while (!this.stopped) {
        const key = this.ready.shift();
        if (key === undefined) {
          await new Promise<void>((resolve) => this.waiters.push(resolve));
          continue;
        }
        this.queued.delete(key);
        this.active.add(key);
        try {
          await handle(key);
        } finally {
          this.active.delete(key);
          if (this.dirty.delete(key)) this.add(key);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const wake of this.waiters.splice(0)) wake();
  }
}
