import type { Ctx } from '../runtime/core.js';
import type { ZyzzyvaMsg } from './messages.js';
import type { ZyzzyvaReplica } from './replica.js';

/**
 * Recovery of a replica restarted with empty state (docs/zyzzyva.md#restarted-replicas). It
 * starts in view 0 and asks for the others' stable checkpoint (state-transfer.ts); it never saw
 * the view changes that moved the others on, but the views others show in signed messages
 * (CHECKPOINT, ORDER-REQ, VIEW-CONFIRM) tell it. Once f+1 replicas (one
 * correct at least) showed a view above ours, that view runs: we join it as a backup, drop our
 * speculative history above the stable checkpoint, and catch up by FILL-HOLE and state transfer.
 * A restarted primary of the running view does not join: the backups hate it (it does not know
 * what it ordered) and the next view replaces it.
 */
export class Recovery {
  private readonly shown = new Map<number, number>();

  constructor(private readonly r: ZyzzyvaReplica) {}

  witnessed(ctx: Ctx<ZyzzyvaMsg>, replica: number, view: number): void {
    const r = this.r;
    if (view <= r.view || replica === r.me) return;
    this.shown.set(replica, Math.max(this.shown.get(replica) ?? 0, view));
    const views = [...this.shown.values()].filter((v) => v > r.view).sort((a, b) => b - a);
    const joined = views[r.f];
    if (joined === undefined || r.primaryOf(joined) === r.me) return;
    r.viewChange.join(ctx, joined);
  }

  forget(): void {
    this.shown.clear();
  }
}
