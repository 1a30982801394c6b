import type { Ctx } from '../../runtime/core.js';
import { sign } from '../auth.js';
import type { NeoMsg } from '../messages.js';
import type { Recovery, RecoveryReply } from '../protocol-messages.js';
import { RecoveryRound, type RecoveryOutcome } from '../recovery.js';
import type { Replica } from '../replica.js';
import { LOG_WINDOW } from './params.js';

/**
 * Recovery with empty state (docs/neobft.md#recovery-with-empty-state): every replica starts as
 * a restarted process would; it takes part only once a recovery round (../recovery.ts) told it
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
    if (round.answers >= 2 * this.r.p.f) return this.start(ctx);
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
