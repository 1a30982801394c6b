import { KvStore } from '../apps/kv.js';
import { hex } from '../crypto/bytes.js';
import { ViewGroup } from '../protocol/view-group.js';
import type { Core, Ctx } from '../runtime/core.js';
import { type Handlers, dispatch } from '../runtime/handlers.js';
import { Agreement } from './agreement.js';
import { Checkpoints } from './checkpoint.js';
import { CommitPhase } from './commit.js';
import { SpecHistory } from './history.js';
import type { ZyzzyvaMsg } from './messages.js';
import { Recovery } from './recovery.js';
import type { ZyzzyvaObserver, ZyzzyvaReplicaParams } from './replica-params.js';
import { StateTransfer } from './state-transfer.js';
import { ViewChange } from './view-change.js';

export type { ZyzzyvaObserver, ZyzzyvaReplicaParams, ZyzzyvaViewChangeReason } from './replica-params.js';
export { CP_INTERVAL } from './checkpoint.js';

/**
 * A Zyzzyva replica (Kotla et al., SOSP'07 and TOCS 2009; the protocol as implemented is
 * docs/zyzzyva.md). The primary of view v is replica v mod n.
 *
 * This class is the host: it owns the view, whether the view runs, the key-value store and the
 * speculative history executed into it, and hands each message type to one subprotocol:
 * - agreement.ts: REQUEST, ORDER-REQ with batching, speculative execution, SPEC-RESPONSE, CONFIRM-REQ, FILL-HOLE;
 * - commit.ts: COMMIT with its commit certificate, LOCAL-COMMIT;
 * - checkpoint.ts: signed CHECKPOINTs, the stable checkpoint and garbage collection;
 * - state-transfer.ts: the state at the stable checkpoint, for a replica behind it or astray;
 * - view-change.ts: I-HATE-THE-PRIMARY, POM, VIEW-CHANGE, NEW-VIEW (the rule in new-view.ts), VIEW-CONFIRM, rollback;
 * - recovery.ts: a replica restarted with empty state joins the view f+1 others show.
 */
export class ZyzzyvaReplica extends ViewGroup implements Core<ZyzzyvaMsg> {
  readonly f: number;
  store = new KvStore();
  readonly history = new SpecHistory();
  readonly agreement: Agreement;
  readonly commit: CommitPhase;
  readonly checkpoint: Checkpoints;
  readonly stateTransfer: StateTransfer;
  readonly viewChange: ViewChange;
  readonly recovery: Recovery;
  private readonly handlers: Handlers<ZyzzyvaMsg>;
  private readonly timers: Record<string, (ctx: Ctx<ZyzzyvaMsg>) => void>;

  constructor(readonly p: ZyzzyvaReplicaParams, readonly obs: ZyzzyvaObserver) {
    super(p.index, p.replicas);
    this.f = p.f;
    this.agreement = new Agreement(this);
    this.commit = new CommitPhase(this);
    this.checkpoint = new Checkpoints(this);
    this.stateTransfer = new StateTransfer(this);
    this.viewChange = new ViewChange(this);
    this.recovery = new Recovery(this);
    this.handlers = this.handlerTable();
    this.timers = this.timerTable();
  }

  /** Batches in the history executed so far, and the key-value contents (to compare replicas in tests). */
  get progressState(): { executed: number; contents: string } {
    return { executed: this.history.top, contents: JSON.stringify(this.store.snapshot().data) };
  }

  /** h_seq as this replica holds it (hex), if it does: tests compare committed prefixes across replicas. */
  historyAt(seq: number): string | undefined {
    const h = this.history.historyAt(seq);
    return h && hex(h);
  }

  debugLog(): string {
    return `top=${this.history.top} base=${this.history.base.seq} stable=${this.checkpoint.stable.seq} cc=${this.commit.max.seq} ${this.agreement.describe()}`;
  }

  start(ctx: Ctx<ZyzzyvaMsg>): void {
    ctx.setTimer('retry', this.p.retryUs);
    this.stateTransfer.request(ctx);
  }

  receive(ctx: Ctx<ZyzzyvaMsg>, m: ZyzzyvaMsg): void {
    dispatch(this.handlers, ctx, m);
  }

  timer(ctx: Ctx<ZyzzyvaMsg>, name: string): void {
    this.timers[name]?.(ctx);
  }

  /** One handler per timer: the batch delay, a relayed request's watch, the NEW-VIEW wait, and the retry period. */
  private timerTable(): Record<string, (ctx: Ctx<ZyzzyvaMsg>) => void> {
    return {
      batch: (ctx) => this.agreement.flush(ctx),
      hate: (ctx) => this.viewChange.onWatchTimeout(ctx),
      'new-view': (ctx) => this.viewChange.onNewViewTimeout(ctx),
      retry: (ctx) => {
        ctx.setTimer('retry', this.p.retryUs);
        // What made no progress is sent again (docs/zyzzyva.md).
        for (const part of this.active ? [this.stateTransfer, this.checkpoint, this.agreement, this.viewChange] : [this.viewChange]) part.tick(ctx);
      },
    };
  }

  private handlerTable(): Handlers<ZyzzyvaMsg> {
    const { agreement, commit, checkpoint, stateTransfer, viewChange } = this;
    const toClients = () => this.obs.invalid('client-message');
    return {
      request: (ctx, m) => agreement.onRequest(ctx, m.payload),
      'order-req': (ctx, m) => agreement.onOrderReq(ctx, m),
      'spec-response': toClients,
      'local-commit': toClients,
      commit: (ctx, m) => commit.onCommit(ctx, m),
      'confirm-req': (ctx, m) => agreement.onConfirmReq(ctx, m),
      'fill-hole': (ctx, m) => agreement.onFillHole(ctx, m),
      'i-hate-the-primary': (ctx, m) => viewChange.onHate(ctx, m),
      pom: (ctx, m) => viewChange.onPom(ctx, m),
      checkpoint: (ctx, m) => checkpoint.onSigned(ctx, m),
      'view-change': (ctx, m) => viewChange.onViewChange(ctx, m),
      'new-view': (ctx, m) => viewChange.onNewView(ctx, m),
      'view-confirm': (ctx, m) => viewChange.onViewConfirm(ctx, m),
      'state-request': (ctx, m) => stateTransfer.onRequest(ctx, m),
      'state-reply': (ctx, m) => stateTransfer.onReply(ctx, m),
    };
  }
}
