import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { sign, verifySigned } from './auth.js';
import type { NeoMsg } from './messages.js';
import type { Recovery, RecoveryReply, Sync, View } from './protocol-messages.js';
import type { Replica } from './replica.js';
import { LOG_WINDOW } from './replica-params.js';
import { type CheckEnv, type FinalPoint, GENESIS, checkSyncCert, compareViews, laterFinal } from './view-change-merge.js';

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
  private readonly replies: Votes<RecoveryReply>;

  constructor(readonly nonce: number, private readonly env: CheckEnv, private readonly window: number) {
    this.replies = new Votes(2 * env.f);
  }

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

  /** Whether 2f others answered. */
  get answered(): boolean {
    return this.replies.reached;
  }

  /** The outcome once 2f others answered, or null (too few, or the view's epoch has no certificate yet: ask again later). */
  outcome(): RecoveryOutcome | null {
    if (!this.replies.reached) return null;
    const all = this.replies.values();
    const views = [...all.map((r) => r.view), { epoch: 1, leader: 0 }].sort(compareViews).reverse();
    const view = views[this.env.f]!;
    let best: { point: FinalPoint; cert: Sync[] } = { point: GENESIS, cert: [] };
    let frontier = 0;
    for (const r of all) {
      const point = checkSyncCert(r.cert, this.env) as FinalPoint;
      if (laterFinal(point, best.point)) best = { point, cert: r.cert };
      frontier = Math.max(frontier, Math.min(r.executed, point.slot + this.window));
    }
    // A view of a later epoch than any certificate: its epoch start is not final yet.
    if (view.epoch !== best.point.epoch) return null;
    return { view, ...best, muteUntil: frontier > 0 ? frontier + this.window : 0 };
  }
}

/**
 * Recovery with empty state (docs/neobft.md#recovery-with-empty-state): every replica starts as
 * a restarted process would; it takes part only once a recovery round (RecoveryRound) told it
 * the view and final point, and it took the state there.
 */
export class EmptyStateRecovery {
  /** The round under way; null once the replica has rejoined. */
  private round: RecoveryRound | null = null;
  private rounds = 0;
  /** Rejoined at a final point past genesis: waiting for the state there. */
  awaitingState = false;
  /** Until the sync point reaches this slot, no vote that denies a slot (RecoveryOutcome.muteUntil). */
  muteUntil = 0;

  constructor(private readonly r: Replica) {}

  get active(): boolean {
    return this.round !== null;
  }

  /** Rejoining, a replica takes only AOM (held until it is in) and the state it asked for. */
  shuts(m: NeoMsg): boolean {
    if (!this.round || m.type === 'recovery' || m.type === 'recovery-reply') return false;
    return m.type !== 'aom' && m.type !== 'aom-sign' && !(m.type === 'state-reply' && this.awaitingState);
  }

  start(ctx: Ctx<NeoMsg>): void {
    const r = this.r;
    this.round = new RecoveryRound(Math.max(0, ctx.now) + ++this.rounds, r.checkEnv(), LOG_WINDOW);
    this.awaitingState = false;
    ctx.multicast(r.others(), { type: 'recovery', replica: r.p.index, nonce: this.round.nonce });
  }

  retry(ctx: Ctx<NeoMsg>): void {
    const round = this.round!;
    if (this.awaitingState) return;
    // Enough answers and still no outcome: the cluster is between epochs; a new round, with a new nonce.
    if (round.answered) return this.start(ctx);
    ctx.multicast(this.r.others(), { type: 'recovery', replica: this.r.p.index, nonce: round.nonce });
  }

  /** Where we are, as we are (a replica still rejoining says so: the start of epoch 1, nothing final). */
  answer(ctx: Ctx<NeoMsg>, m: Recovery): void {
    const r = this.r;
    if (m.replica >= r.p.replicas.length || m.replica === r.p.index) return;
    const reply = sign<RecoveryReply>({
      type: 'recovery-reply', view: r.view, replica: r.p.index, nonce: m.nonce, executed: r.log.executed, cert: r.sync.cert, sig: new Uint8Array(64),
    }, r.p.keys);
    ctx.send(r.p.replicas[m.replica]!, reply);
  }

  onReply(ctx: Ctx<NeoMsg>, m: RecoveryReply): void {
    if (!this.round || this.awaitingState) return;
    if (this.round.add(m) !== null) return this.r.obs.invalid('bad-recovery-reply');
    const out = this.round.outcome();
    if (out) this.rejoin(ctx, out);
  }

  /** Takes the view and epoch the recovery round found; then the state at its final point, if past genesis. */
  private rejoin(ctx: Ctx<NeoMsg>, out: RecoveryOutcome): void {
    const r = this.r;
    const epoch = out.point.epoch;
    const auth = r.p.authFor(epoch);
    if (!auth) return r.obs.invalid('no-keys-for-next-epoch');
    this.muteUntil = out.muteUntil;
    r.view = out.view;
    r.viewChange.target = out.view;
    r.epochStarts.clear();
    r.epochStarts.set(epoch, out.point.epochStart);
    r.sync.certifiedEpoch = epoch;
    if (epoch !== r.aomEpoch) r.enterAomEpoch(ctx, epoch, auth);
    r.obs.viewStarted(out.view);
    if (out.point.slot === 0) return this.rejoined(ctx, out.muteUntil === 0 && epoch === 1);
    this.awaitingState = true;
    r.stateTransfer.askNow(ctx, out.point.slot);
  }

  /** In: what AOM delivered meanwhile goes in (a fresh testbed's replica also tells epoch 1's sequencer to start). */
  rejoined(ctx: Ctx<NeoMsg>, fresh = false): void {
    const r = this.r;
    this.round = null;
    this.awaitingState = false;
    r.viewChange.viewStartedAt = ctx.now;
    if (fresh && r.normal.held.length === 0) r.sync.startEpochOne(ctx);
    r.normal.release(ctx);
  }
}
