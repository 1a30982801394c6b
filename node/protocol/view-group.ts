import type { NodeId } from '../runtime/core.js';
import { invariant } from './invariant.js';
import { leaderOf } from './leader.js';

/**
 * What every view-based BFT replica knows of its group (PBFT, Zyzzyva): its own index, the
 * replicas, the view it is in — which only advances — and whether it runs it yet, and the primary of each view (`leaderOf`).
 */
export class ViewGroup {
  private viewNumber = 0;
  /** False while the replica changes to `view` (it waits for that view's NEW-VIEW). */
  active = true;

  constructor(readonly me: number, private readonly replicas: readonly NodeId[]) {}

  get view(): number {
    return this.viewNumber;
  }

  /** Moves to `view`; a replica's view only advances. */
  set view(view: number) {
    invariant(view >= this.viewNumber, 'view-advances', () => `view ${view} after view ${this.viewNumber}`);
    this.viewNumber = view;
  }

  /** The view this replica runs, and whether it runs it yet. */
  get currentView(): { view: number; active: boolean } {
    return { view: this.view, active: this.active };
  }

  get n(): number {
    return this.replicas.length;
  }

  primaryOf(view: number): number {
    return leaderOf(view, this.n);
  }

  get primary(): boolean {
    return this.me === this.primaryOf(this.view);
  }

  /** The other replicas' addresses. */
  others(): NodeId[] {
    return this.replicas.filter((_, i) => i !== this.me);
  }
}
