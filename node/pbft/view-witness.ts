/**
 * The views other replicas show in their authenticated normal-case messages (PRE-PREPARE,
 * PREPARE, COMMIT carry MAC authenticators). A replica that restarted with empty state is in
 * view 0 and never sees the VIEW-CHANGEs that moved the others on; once f+1 replicas (one
 * correct at least) showed a view above ours, that view is running, and we join it as a backup
 * and take the state at its next stable checkpoint (PBFT's state transfer).
 */
export class ViewWitness {
  private readonly shown = new Map<number, number>();

  constructor(private readonly f: number) {}

  /** Notes `view` from `replica`; returns the highest view f+1 replicas showed once it is above `ours`, else null. */
  note(replica: number, view: number, ours: number): number | null {
    if (view <= ours) return null;
    this.shown.set(replica, Math.max(this.shown.get(replica) ?? 0, view));
    const views = [...this.shown.values()].filter((v) => v > ours).sort((a, b) => b - a);
    return views.length > this.f ? views[this.f]! : null;
  }

  /** Forgets what was shown (we joined a view). */
  clear(): void {
    this.shown.clear();
  }
}
