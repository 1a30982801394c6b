import { KvStore } from '../apps/kv.js';
import { ViewGroup } from '../protocol/view-group.js';
import type { Core, Ctx } from '../runtime/core.js';
import { type Handlers, dispatch } from '../runtime/handlers.js';
import { Checkpoints } from './checkpoint.js';
import { PbftLog } from './log.js';
import type { PbftMsg } from './messages.js';
import { NormalCase } from './normal-case.js';
import { Recovery } from './recovery.js';
import type { PbftObserver, PbftReplicaParams } from './replica-params.js';
import { StateTransfer } from './state-transfer.js';
import { ViewChange } from './view-change.js';

export type { PbftObserver, PbftReplicaParams, PbftViewChangeReason } from './replica-params.js';
export { CHECKPOINT_INTERVAL } from './checkpoint.js';

/**
 * A PBFT replica (Castro & Liskov, OSDI'99 and TOCS 2002; the protocol as implemented is
 * docs/pbft.md). The primary of view v is replica v mod n. With n = 1 and f = 0 it is the
 * unreplicated server: requests execute as they arrive.
 *
 * This class is the host: it owns the view, whether the view runs, the key-value store with the
 * batches executed into it, and the message log (log.ts), and hands each message type to one
 * handler. Each subprotocol is a file that owns its state:
 * - normal-case.ts: PRE-PREPARE, PREPARE, COMMIT with adaptive batching, execution, retransmission;
 * - checkpoint.ts: signed CHECKPOINTs, the stable checkpoint and garbage collection;
 * - state-transfer.ts: the state at the stable checkpoint, for a replica behind it;
 * - view-change.ts: the request timer, VIEW-CHANGE and NEW-VIEW (the rule in new-view.ts);
 * - recovery.ts: a replica restarted with empty state joins the view f+1 others show.
 */
export class PbftReplica extends ViewGroup implements Core<PbftMsg> {
  readonly f: number;
  /** The highest sequence number assigned (by this primary or a NEW-VIEW) or passed by a state taken. */
  seq = 0;
  /** Batches executed into the store, in sequence order. */
  executed = 0;
  store = new KvStore();
  readonly log: PbftLog;
  readonly normal: NormalCase;
  readonly checkpoint: Checkpoints;
  readonly stateTransfer: StateTransfer;
  readonly viewChange: ViewChange;
  readonly recovery: Recovery;
  private readonly handlers: Handlers<PbftMsg>;

  constructor(readonly p: PbftReplicaParams, readonly obs: PbftObserver) {
    super(p.index, p.replicas);
    this.f = p.f;
    this.log = new PbftLog(p.f);
    this.normal = new NormalCase(this);
    this.checkpoint = new Checkpoints(this);
    this.stateTransfer = new StateTransfer(this);
    this.viewChange = new ViewChange(this);
    this.recovery = new Recovery(this);
    this.handlers = this.handlerTable();
  }

  /** Batches executed so far, and the key-value contents (to compare replicas in tests). */
  get progressState(): { executed: number; contents: string } {
    return { executed: this.executed, contents: JSON.stringify(this.store.snapshot().data) };
  }

  /** Protocol instances held (executed ones go at each stable checkpoint). */
  get instances(): number {
    return this.log.size;
  }

  debugLog(): string {
    return this.log.describe() + ` stable=${this.checkpoint.stable.seq} exec=${this.executed}`;
  }

  start(ctx: Ctx<PbftMsg>): void {
    ctx.setTimer('retry', this.p.retryUs);
    this.recovery.start(ctx);
  }

  receive(ctx: Ctx<PbftMsg>, m: PbftMsg): void {
    dispatch(this.handlers, ctx, m);
  }

  timer(ctx: Ctx<PbftMsg>, name: string): void {
    if (name === 'batch') return this.normal.flush(ctx);
    if (name === 'view-change') return this.viewChange.onTimeout(ctx);
    if (name !== 'retry') return;
    ctx.setTimer('retry', this.p.retryUs);
    this.tick(ctx);
  }

  /** One handler per message type. */
  private handlerTable(): Handlers<PbftMsg> {
    const { normal, checkpoint, stateTransfer, viewChange } = this;
    return {
      request: (ctx, m) => normal.onRequest(ctx, m.payload),
      'pre-prepare': (ctx, m) => normal.onPrePrepare(ctx, m),
      prepare: (ctx, m) => normal.onVote(ctx, m),
      commit: (ctx, m) => normal.onVote(ctx, m),
      reply: () => {},
      checkpoint: (ctx, m) => checkpoint.onSigned(ctx, m),
      'view-change': (ctx, m) => viewChange.onViewChange(ctx, m),
      'new-view': (ctx, m) => viewChange.onNewView(ctx, m),
      'view-change-fetch': (ctx, m) => viewChange.onFetch(ctx, m),
      'state-request': (ctx, m) => stateTransfer.onRequest(ctx, m.seq, m.replica),
      'state-reply': (ctx, m) => stateTransfer.onReply(ctx, m),
    };
  }

  /** The retry period: what made no progress is sent again (docs/pbft.md). */
  private tick(ctx: Ctx<PbftMsg>): void {
    if (!this.active) return this.viewChange.tick(ctx);
    this.stateTransfer.tick(ctx);
    this.checkpoint.tick(ctx);
    this.normal.tick(ctx);
  }
}
