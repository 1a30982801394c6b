/**
 * A number a client learns from replicas' replies (the current view or epoch), taken only once
 * f+1 replicas vouched for it or more: one of them is correct, so f Byzantine replicas naming a
 * made-up view cannot send the client after a primary or sequencer that does not exist. Each
 * replica's highest report counts; the value never goes down.
 */
export class Vouched {
  private readonly reported = new Map<number, number>();

  constructor(private readonly f: number, private current: number) {}

  get value(): number {
    return this.current;
  }

  report(replica: number, value: number): void {
    if (value <= this.current || (this.reported.get(replica) ?? -Infinity) >= value) return;
    this.reported.set(replica, value);
    // The (f+1)-th highest report: at least f+1 replicas named it or more.
    const at = [...this.reported.values()].sort((a, b) => b - a)[this.f];
    if (at !== undefined && at > this.current) this.current = at;
  }
}
