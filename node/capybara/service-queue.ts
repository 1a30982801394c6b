/**
 * Emulated server capacity. A backend in the paper spends real time per request, so a server
 * given more than its share queues requests and its clients' latency grows — the problem
 * Capybara solves. Here every request costs `serviceUs` of a single server's time: replies are
 * computed at once but released in order when their service would end (0: released at once).
 * Pure, like the cores: the server asks what is due at `now` and when the next reply is.
 * The requests not released yet are the server's queue (what reactive migration watches), per
 * session too; a migrating session takes its own with it, to be served at the target.
 */
export interface Waiting {
  reply: Uint8Array;
  requests: number;
}

export class ServiceQueue<S> {
  private busyUntil = 0;
  /** In service order: when each entry was admitted and when its service ends. */
  private queue: ({ session: S; admitted: number; at: number; imported: boolean } & Waiting)[] = [];
  private head = 0;
  private readonly perSession = new Map<S, number>();
  private readonly receivedPerSession = new Map<S, number>();
  /** Requests admitted and not released yet. */
  length = 0;
  /** Of those, the ones that arrived here from clients (not with a migrated connection): the receive queue. */
  receivedLength = 0;

  constructor(private readonly serviceUs: number) {}

  /** `imported`: the requests came with a migrated connection, waiting since its origin. */
  admit(now: number, session: S, reply: Uint8Array, requests: number, imported = false): void {
    this.busyUntil = Math.max(now, this.busyUntil) + requests * this.serviceUs;
    this.queue.push({ session, reply, requests, admitted: now, at: this.busyUntil, imported });
    this.count(session, requests, imported);
  }

  /** Replies whose service has ended by `now`, in order. */
  due(now: number): { session: S; reply: Uint8Array }[] {
    const out: { session: S; reply: Uint8Array }[] = [];
    while (this.head < this.queue.length && this.queue[this.head]!.at <= now) {
      const q = this.queue[this.head++]!;
      this.count(q.session, -q.requests, q.imported);
      out.push(q);
    }
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
    if (this.perSession.has(session)) return true;
    // An entry that counts no request (a reply alone) holds the session too.
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i]!.session === session) return true;
    return false;
  }

  /** Requests of a session waiting here. */
  queued(session: S): number {
    return this.perSession.get(session) ?? 0;
  }

  /** Requests of a session waiting here that arrived here (not with its migration). */
  received(session: S): number {
    return this.receivedPerSession.get(session) ?? 0;
  }

  /**
   * Removes a session's waiting replies, in order (it is migrating; they travel with it), and the
   * service time they would have taken: what waited behind them moves up (never later than
   * before), or the work would be counted at both servers.
   */
  takeFor(now: number, session: S): Waiting[] {
    const mine = this.queue.slice(this.head).filter((q) => q.session === session).map(({ reply, requests }) => ({ reply, requests }));
    this.queue = this.queue.slice(this.head).filter((q) => q.session !== session);
    this.head = 0;
    let prev = now;
    for (const q of this.queue) prev = q.at = Math.min(q.at, Math.max(q.admitted, prev) + q.requests * this.serviceUs);
    this.busyUntil = prev;
    this.length -= this.queued(session);
    this.receivedLength -= this.received(session);
    this.perSession.delete(session);
    this.receivedPerSession.delete(session);
    return mine;
  }

  private count(session: S, requests: number, imported: boolean): void {
    this.length += requests;
    add(this.perSession, session, requests);
    if (imported) return;
    this.receivedLength += requests;
    add(this.receivedPerSession, session, requests);
  }
}

function add<S>(counts: Map<S, number>, session: S, requests: number): void {
  const n = (counts.get(session) ?? 0) + requests;
  if (n === 0) counts.delete(session);
  else counts.set(session, n);
}
