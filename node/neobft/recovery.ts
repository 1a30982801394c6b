import { verifySigned } from './auth.js';
import type { RecoveryReply, Sync, View } from './protocol-messages.js';
import { type CheckEnv, type FinalPoint, GENESIS, checkSyncCert, compareViews } from './view-change.js';

/** Where a recovering replica rejoins, and until which final point it must not deny anything. */
export interface RecoveryOutcome {
  view: View;
  /** The highest final point any answer proved, with its certificate (none at the start of epoch 1). */
  point: FinalPoint;
  cert: Sync[];
  /**
   * Until its sync point reaches this slot the replica casts no vote that denies a slot
   * (GAP-DROP, CONFIRM, VIEW-CHANGE): before the restart it may have accepted any slot up to
   * here, and it no longer knows which. 0: nothing was executed anywhere, nothing to deny.
   */
  muteUntil: number;
}

/**
 * A replica that starts with empty state collects RECOVERY-REPLYs (Viewstamped Replication
 * Revisited §4.3: a recovering replica takes part again only after learning from a quorum). It
 * counts itself as one answer at the start of epoch 1 (so that a fresh testbed with f members
 * down still starts) and needs 2f others: 2f+1 in all, and the outcome is
 * - the view: the (f+1)-th highest reported, i.e. one at least one correct replica is in;
 * - the final point: the highest certificate (2f+1 signed SYNCs prove themselves);
 * - how long to stay mute: a replica fills at most LOG_WINDOW slots past its sync point, and its
 *   sync point before the restart was signed by 2f+1 replicas, f of whom at least are among any
 *   2f answerers (with the recovering replica as the one fault, a correct one); so the highest
 *   credible `executed` (bounded by the answerer's own final point plus the window) plus the
 *   window bounds what it may have accepted.
 */
export class RecoveryRound {
  private readonly replies = new Map<number, RecoveryReply>();

  constructor(readonly nonce: number, private readonly env: CheckEnv, private readonly window: number) {}

  /** Adds an answer; a string says why it was refused. */
  add(m: RecoveryReply): string | null {
    if (m.nonce !== this.nonce || m.replica === this.env.index || this.replies.has(m.replica)) return null;
    if (m.replica >= this.env.n || !verifySigned(m, this.env.keys)) return 'badly signed';
    const point = checkSyncCert(m.cert, this.env);
    if (typeof point === 'string') return point;
    if (compareViews(m.view, { epoch: point.epoch, leader: 0 }) < 0) return 'view below its own certificate';
    this.replies.set(m.replica, m);
    return null;
  }

  get answers(): number {
    return this.replies.size;
  }

  /** The outcome once 2f others answered, or null (too few, or the view's epoch has no certificate yet: ask again later). */
  outcome(): RecoveryOutcome | null {
    const all = [...this.replies.values()];
    if (all.length < 2 * this.env.f) return null;
    const views = [...all.map((r) => r.view), { epoch: 1, leader: 0 }].sort(compareViews).reverse();
    const view = views[this.env.f]!;
    let best: { point: FinalPoint; cert: Sync[] } = { point: GENESIS, cert: [] };
    let frontier = 0;
    for (const r of all) {
      const point = checkSyncCert(r.cert, this.env) as FinalPoint;
      if (point.slot > best.point.slot) best = { point, cert: r.cert };
      frontier = Math.max(frontier, Math.min(r.executed, point.slot + this.window));
    }
    // A view of a later epoch than any certificate: its epoch start is not final yet.
    if (view.epoch !== best.point.epoch) return null;
    return { view, ...best, muteUntil: frontier > 0 ? frontier + this.window : 0 };
  }
}
