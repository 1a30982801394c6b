/**
 * Emulated server capacity. A backend in the paper spends real time per request, so a server
 * given more than its share queues requests and its clients' latency grows — the problem
 * Capybara solves. Here every request costs `serviceUs` of a single server's time: replies are
 * computed at once but released in order when their service would end (0: released at once).
 * Pure, like the cores: the server asks what is due at `now` and when the next reply is.
 */
export class ServiceQueue<S> {
  private busyUntil = 0;
  private queue: { session: S; reply: Uint8Array; at: number }[] = [];
  private head = 0;

  constructor(private readonly serviceUs: number) {}

  admit(now: number, session: S, reply: Uint8Array, requests: number): void {
    this.busyUntil = Math.max(now, this.busyUntil) + requests * this.serviceUs;
    this.queue.push({ session, reply, at: this.busyUntil });
  }

  /** Replies whose service has ended by `now`, in order. */
  due(now: number): { session: S; reply: Uint8Array }[] {
    const out: { session: S; reply: Uint8Array }[] = [];
    while (this.head < this.queue.length && this.queue[this.head]!.at <= now) out.push(this.queue[this.head++]!);
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  nextAt(): number | null {
    return this.head < this.queue.length ? this.queue[this.head]!.at : null;
  }

  holds(session: S): boolean {
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i]!.session === session) return true;
    return false;
  }

  /** Removes a session's waiting replies (it is migrating; its replies travel with it). */
  takeFor(session: S): Uint8Array[] {
    const mine = this.queue.slice(this.head).filter((q) => q.session === session).map((q) => q.reply);
    this.queue = this.queue.slice(this.head).filter((q) => q.session !== session);
    this.head = 0;
    return mine;
  }
}
