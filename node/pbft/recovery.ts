import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import type { PbftMsg } from './messages.js';
import type { PbftReplica } from './replica.js';

/**
 * Recovery of a replica restarted with empty state (docs/pbft.md#view-change, "Restarted
 * replicas"). It starts in view 0 and asks for the others' stable checkpoint (state-transfer.ts),
 * and never sees the VIEW-CHANGEs that moved the others on: the views others show in their
 * MAC-authenticated normal-case messages (PRE-PREPARE, PREPARE, COMMIT) tell it. Once f+1
 * replicas (one correct at least) showed a view above ours, that view is running: we join it as a
 * backup and take the state at its next stable checkpoint. A primary that restarted in the view
 * it leads gives the view up once f+1 replicas vote for sequence numbers it never assigned.
 */
export class Recovery {
  /** The highest view each replica showed above ours. */
  private readonly shown = new Map<number, number>();
  /** Replicas that voted for sequence numbers we never assigned, in a view we lead (`unassignedVote`). */
  private unassigned: { view: number; voters: Votes };

  constructor(private readonly r: PbftReplica) {
    this.unassigned = { view: -1, voters: new Votes(r.f + 1) };
  }

  /** Started with empty state (perhaps restarted): the others' stable checkpoint, if they have one. */
  start(ctx: Ctx<PbftMsg>): void {
    if (this.r.n > 1) this.r.stateTransfer.request(ctx);
  }

  /**
   * `replica` showed `view` (> ours) in an authentic normal-case message. Once f+1 replicas run a
   * later view (we restarted with empty state, or missed its VIEW-CHANGEs and NEW-VIEW), we join
   * it as a backup. What its NEW-VIEW re-proposed we take at its next stable checkpoint; our own
   * pre-prepares, prepares and claims of older views go.
   */
  witnessed(ctx: Ctx<PbftMsg>, replica: number, view: number): void {
    const joined = this.note(replica, view);
    if (joined === null || this.r.primaryOf(joined) === this.r.me) return;
    this.r.viewChange.join(ctx, joined);
  }

  /** Notes `view` from `replica`; returns the highest view f+1 replicas showed once it is above ours, else null. */
  private note(replica: number, view: number): number | null {
    const ours = this.r.view;
    if (view <= ours) return null;
    this.shown.set(replica, Math.max(this.shown.get(replica) ?? 0, view));
    const views = [...this.shown.values()].filter((v) => v > ours).sort((a, b) => b - a);
    return views.length > this.r.f ? views[this.r.f]! : null;
  }

  /** Forgets the views shown (we run a view now). */
  forget(): void {
    this.shown.clear();
  }

  /**
   * f+1 replicas (one correct at least) voted, in the view we lead, for sequence numbers we never
   * assigned: an earlier incarnation of ours pre-prepared them, and we restarted with empty state
   * in our own view. Numbering again from the stable checkpoint would contradict it (backups
   * refuse the conflicting pre-prepares, and what it ordered is ours no longer to send), so we
   * give the view up: the next one's NEW-VIEW carries what was prepared under the old numbering.
   */
  unassignedVote(ctx: Ctx<PbftMsg>, replica: number): void {
    const r = this.r;
    if (this.unassigned.view !== r.view) this.unassigned = { view: r.view, voters: new Votes(r.f + 1) };
    this.unassigned.voters.add(replica, true);
    if (this.unassigned.voters.reached) r.viewChange.start(ctx, r.view + 1, 'restarted-primary');
  }
}
