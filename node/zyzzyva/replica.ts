import { KvStore } from '../apps/kv.js';
import { hex } from '../crypto/bytes.js';
import { invariant } from '../protocol/invariant.js';
import { leaderOf } from '../protocol/leader.js';
import type { Core, Ctx, NodeId } from '../runtime/core.js';
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

type MessageOf<T, M = ZyzzyvaMsg> = M extends { type: infer U } ? (T extends U ? M : never) : never;
type Handlers = { [T in ZyzzyvaMsg['type']]: (ctx: Ctx<ZyzzyvaMsg>, m: MessageOf<T>) => void };

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
export class ZyzzyvaReplica implements Core<ZyzzyvaMsg> {
  readonly me: number;
  readonly f: number;
  private viewNumber = 0;
  /** False between committing to a view change and 2f+1 VIEW-CONFIRMs of its NEW-VIEW. */
  active = true;
  store = new KvStore();
  readonly history = new SpecHistory();
  readonly agreement: Agreement;
  readonly commit: CommitPhase;
  readonly checkpoint: Checkpoints;
  readonly stateTransfer: StateTransfer;
  readonly viewChange: ViewChange;
  readonly recovery: Recovery;
  private readonly handlers: Handlers;

  constructor(readonly p: ZyzzyvaReplicaParams, readonly obs: ZyzzyvaObserver) {
    this.me = p.index;
    this.f = p.f;
    this.agreement = new Agreement(this);
    this.commit = new CommitPhase(this);
    this.checkpoint = new Checkpoints(this);
    this.stateTransfer = new StateTransfer(this);
    this.viewChange = new ViewChange(this);
    this.recovery = new Recovery(this);
    this.handlers = this.handlerTable();
  }

  get currentView(): { view: number; active: boolean } {
    return { view: this.view, active: this.active };
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

  get view(): number {
    return this.viewNumber;
  }

  set view(view: number) {
    invariant(view >= this.viewNumber, 'view-advances', () => `view ${view} after view ${this.viewNumber}`);
    this.viewNumber = view;
  }

  get n(): number {
    return this.p.replicas.length;
  }

  primaryOf(view: number): number {
    return leaderOf(view, this.n);
  }

  get primary(): boolean {
    return this.me === this.primaryOf(this.view);
  }

  others(): NodeId[] {
    return this.p.replicas.filter((_, i) => i !== this.me);
  }

  start(ctx: Ctx<ZyzzyvaMsg>): void {
    ctx.setTimer('retry', this.p.retryUs);
    this.stateTransfer.request(ctx);
  }

  receive(ctx: Ctx<ZyzzyvaMsg>, m: ZyzzyvaMsg): void {
    (this.handlers[m.type] as (ctx: Ctx<ZyzzyvaMsg>, m: ZyzzyvaMsg) => void)(ctx, m);
  }

  timer(ctx: Ctx<ZyzzyvaMsg>, name: string): void {
    if (name === 'batch') return this.agreement.flush(ctx);
    if (name === 'hate') return this.viewChange.onWatchTimeout(ctx);
    if (name === 'new-view') return this.viewChange.onNewViewTimeout(ctx);
    if (name !== 'retry') return;
    ctx.setTimer('retry', this.p.retryUs);
    if (!this.active) return this.viewChange.tick(ctx);
    this.stateTransfer.tick(ctx);
    this.checkpoint.tick(ctx);
    this.agreement.tick(ctx);
    this.viewChange.tick(ctx);
  }

  private handlerTable(): Handlers {
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
