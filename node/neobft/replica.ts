import { Backoff } from '../protocol/backoff.js';
import type { Core, Ctx, NodeId } from '../runtime/core.js';
import type { AomSign, OrderedMulticast } from './aom-messages.js';
import { AomReceiver, type AomReceiverAuth } from './aom-receiver.js';
import type { NeoMsg } from './messages.js';
import type { View } from './protocol-messages.js';
import { Clients } from './client-requests.js';
import { Confirms } from './confirm.js';
import { GapAgreement } from './gap-agreement.js';
import { ReplicaLog } from './log.js';
import { NormalCase } from './normal-case.js';
import type { ReplicaObserver, ReplicaParams } from './replica-params.js';
import { EmptyStateRecovery } from './recovery.js';
import { StateTransfer } from './state-transfer.js';
import { Synchronization } from './sync.js';
import { ViewChange } from './view-change.js';
import { type CheckEnv, leaderOf } from './view-change-merge.js';

export { LOG_WINDOW, SYNC_INTERVAL } from './replica-params.js';
export type { NeoBftRefusal, ReplicaObserver, ReplicaParams, ViewChangeReason } from './replica-params.js';

type Handlers = { [T in NeoMsg['type']]: (ctx: Ctx<NeoMsg>, m: NeoMsg & { type: T }) => void };

/**
 * A NeoBFT replica (NeoBFT §5; docs/neobft.md#normal-case): it takes slots from AOM in sequence
 * order, executes speculatively and replies to the client with (view, slot, log hash, result)
 * under an HMAC.
 *
 * This class is the host: it owns the view, the status, AOM's receiver and the subprotocols,
 * and hands each message type to one handler. Each subprotocol is a file beside it that owns
 * its state (replica-params.ts holds the parameters, the observer and the constants):
 * - log.ts: the slots, their execution, the log hash, rollback;
 * - normal-case.ts: AOM's deliveries into the log; client-requests.ts: requests and replies;
 * - confirm.ts: CONFIRMs (Byzantine-network mode), and a lying sequencer caught;
 * - gap-agreement.ts: a dropped slot fetched by QUERY, or decided by gap agreement;
 * - sync.ts: SYNC, the final prefix and the epoch certificate (EPOCH-START);
 * - view-change.ts: suspicion, view change and epoch change (the checks and the merge are view-change-merge.ts);
 * - state-transfer.ts: a replica behind the others' compacted prefix takes their state;
 * - recovery.ts: a replica starting with empty state rejoins after a recovery round.
 */
export class Replica implements Core<NeoMsg> {
  view: View = { epoch: 1, leader: 0 };
  status: 'normal' | 'view-change' = 'normal';
  /** The slot each epoch started after: epoch e's message seq s fills slot epochStarts[e] + s. */
  readonly epochStarts = new Map<number, number>([[1, 0]]);
  /** The epoch AOM currently accepts. */
  aomEpoch = 1;
  /** The sequencer's latest separate signature (PK), which may prove our last entry to others. */
  lastSign: AomSign | null = null;
  readonly aom: AomReceiver<NeoMsg>;
  /** Resends are at most every quarter of the suspicion timeout: a few tries before anyone is suspected. */
  private readonly maxResendUs: number;
  /** Retransmission schedule (protocol/backoff.ts) per message (SYNCs, view changes, requests passed on). */
  readonly resends: Backoff<string>;
  readonly log: ReplicaLog;
  readonly clients: Clients;
  readonly normal: NormalCase;
  readonly confirms: Confirms;
  readonly gaps: GapAgreement;
  readonly sync: Synchronization;
  readonly viewChange: ViewChange;
  readonly stateTransfer: StateTransfer;
  readonly recovery: EmptyStateRecovery;
  private readonly handlers: Handlers;

  constructor(readonly p: ReplicaParams, readonly obs: ReplicaObserver) {
    const auth = p.authFor(1);
    if (!auth) throw new Error('no AOM keys for epoch 1');
    this.maxResendUs = Math.max(p.retryUs, p.viewChangeUs / 4);
    this.resends = this.newBackoff<string>();
    this.log = new ReplicaLog(this);
    this.clients = new Clients(this);
    this.normal = new NormalCase(this);
    this.confirms = new Confirms(this);
    this.gaps = new GapAgreement(this);
    this.sync = new Synchronization(this);
    this.viewChange = new ViewChange(this);
    this.stateTransfer = new StateTransfer(this);
    this.recovery = new EmptyStateRecovery(this);
    this.aom = new AomReceiver<NeoMsg>(
      { group: p.group, epoch: 1, index: p.index, auth, gapTimeoutUs: p.gapTimeoutUs, maxBuffered: 10_000 },
      { delivered: (d, ctx) => this.normal.onDelivery(ctx, d), rejected: (r) => obs.rejected(r), verified: (s, ok) => obs.verified(s, ok) },
    );
    this.handlers = this.handlerTable();
  }

  /** A retransmission schedule per item, from the retry interval up to a quarter of the suspicion timeout. */
  newBackoff<K>(): Backoff<K> {
    return new Backoff<K>(this.p.retryUs, this.maxResendUs);
  }

  /** The replica number of the current view's leader. */
  get leader(): number {
    return leaderOf(this.view, this.p.replicas.length);
  }

  get isLeader(): boolean {
    return this.leader === this.p.index;
  }

  get leaderNode(): NodeId {
    return this.p.replicas[this.leader]!;
  }

  /** Recovered with a frontier it may have accepted before the restart and forgot (RecoveryOutcome.muteUntil). */
  get mute(): boolean {
    return this.sync.point < this.recovery.muteUntil;
  }

  get quorum(): number {
    return 2 * this.p.f + 1;
  }

  sameView(v: View): boolean {
    return v.epoch === this.view.epoch && v.leader === this.view.leader;
  }

  others(): NodeId[] {
    return this.p.replicas.filter((_, i) => i !== this.p.index);
  }

  /** The slot an ordering certificate belongs in (-1: an epoch this replica has not entered). */
  slotOf(oc: OrderedMulticast): number {
    const start = this.epochStarts.get(oc.header.epoch);
    return start === undefined ? -1 : start + oc.header.seq;
  }

  checkEnv(): CheckEnv {
    const p = this.p;
    return { n: p.replicas.length, f: p.f, index: p.index, keys: p.keys, authFor: p.authFor, byzantineNetwork: p.byzantineNetwork };
  }

  /** AOM moves to `epoch`'s sequencer: what the old one delivered and signed goes. */
  enterAomEpoch(ctx: Ctx<NeoMsg>, epoch: number, auth: AomReceiverAuth): void {
    this.aomEpoch = epoch;
    this.normal.held = [];
    this.lastSign = null;
    this.aom.setEpoch(ctx, epoch, auth);
  }

  /**
   * Forgets what a long run no longer needs about slots final for a whole interval: agreement
   * and confirm state, certificates and requests (a replica that far behind catches up by
   * state transfer), and old log hashes.
   */
  compact(upto: number): void {
    if (upto <= 0) return;
    this.gaps.compact(upto);
    this.confirms.compact(upto);
    this.sync.compact(upto);
    this.log.compact(upto);
  }

  // ——— For status, tests and metrics ———

  /** The view ⟨epoch, leader⟩ and whether a view change is under way. */
  get currentView(): View & { changing: boolean } {
    return { ...this.view, changing: this.status === 'view-change' };
  }

  /** Log hash after `slot`. */
  logHash(slot: number): Uint8Array | undefined {
    return this.log.hashes[slot];
  }

  get executedSlots(): number {
    return this.log.executed;
  }

  /** The digest of the state after the executed slots (what a SYNC at that slot would carry). */
  stateDigest(): Uint8Array {
    return this.log.store.digest();
  }

  /** The digest held at a slot (NOOP_DIGEST for a no-op), for cross-replica checks. */
  slotDigest(slot: number): Uint8Array | undefined {
    return this.log.slotDigest(slot);
  }

  /** How many per-slot records the replica still holds (bounded by SYNC in a long run). */
  get retained(): number {
    return this.gaps.size + this.confirms.size + this.sync.size;
  }

  /** The highest slot 2f+1 replicas (this one included) agreed on: final, never rolled back. */
  get finalSlot(): number {
    return this.sync.point;
  }

  // ——— Inputs ———

  start(ctx: Ctx<NeoMsg>): void {
    ctx.setTimer('retry', this.p.retryUs);
    this.recovery.start(ctx);
  }

  receive(ctx: Ctx<NeoMsg>, m: NeoMsg): void {
    if (this.recovery.shuts(m)) return;
    (this.handlers[m.type] as (ctx: Ctx<NeoMsg>, m: NeoMsg) => void)(ctx, m);
  }

  timer(ctx: Ctx<NeoMsg>, name: string): void {
    if (this.aom.timer(ctx, name)) return;
    if (name === 'view-change') return this.viewChange.onTimeout(ctx);
    if (name !== 'retry') return;
    ctx.setTimer('retry', this.p.retryUs);
    this.retry(ctx);
  }

  /** One handler per message type. */
  private handlerTable(): Handlers {
    const { clients, confirms, gaps, sync, viewChange, stateTransfer, recovery } = this;
    // The old view's business waits for the new one.
    const inView = <M>(handle: (ctx: Ctx<NeoMsg>, m: M) => void) => (ctx: Ctx<NeoMsg>, m: M) => {
      if (this.status !== 'view-change') handle(ctx, m);
    };
    const ignore = () => {};
    return {
      recovery: (ctx, m) => recovery.answer(ctx, m),
      'recovery-reply': (ctx, m) => recovery.onReply(ctx, m),
      aom: (ctx, m) => this.aom.receive(ctx, m),
      'aom-sign': (ctx, m) => this.onAomSign(ctx, m),
      'aom-request': ignore,
      'direct-request': (ctx, m) => clients.onDirect(ctx, m.payload),
      'view-change': (ctx, m) => viewChange.onViewChange(ctx, m),
      'view-start': (ctx, m) => viewChange.onViewStart(ctx, m),
      'view-change-fetch': (ctx, m) => viewChange.onFetch(ctx, m),
      'state-request': (ctx, m) => stateTransfer.onRequest(ctx, m.replica, m.executed),
      'state-reply': (ctx, m) => stateTransfer.onReply(ctx, m),
      // Answered even while changing views: a replica waiting for our SYNC (an epoch's
      // certificate, say) must not depend on our view change finishing.
      sync: (ctx, m) => (this.status === 'view-change' ? sync.answer(ctx, m) : sync.onSync(ctx, m)),
      query: inView((ctx, m: NeoMsg & { type: 'query' }) => gaps.onQuery(ctx, m.replica, m.slot, m.view)),
      'query-reply': inView((ctx, m: NeoMsg & { type: 'query-reply' }) => gaps.onQueryReply(ctx, m)),
      'gap-find': inView((ctx, m: NeoMsg & { type: 'gap-find' }) => gaps.onFind(ctx, m)),
      'gap-recv': inView((ctx, m: NeoMsg & { type: 'gap-recv' }) => gaps.onReport(ctx, m)),
      'gap-drop': inView((ctx, m: NeoMsg & { type: 'gap-drop' }) => gaps.onReport(ctx, m)),
      'gap-decision': inView((ctx, m: NeoMsg & { type: 'gap-decision' }) => gaps.onDecision(ctx, m)),
      'gap-prepare': inView((ctx, m: NeoMsg & { type: 'gap-prepare' }) => gaps.onVote(ctx, m)),
      'gap-commit': inView((ctx, m: NeoMsg & { type: 'gap-commit' }) => gaps.onVote(ctx, m)),
      confirm: inView((ctx, m: NeoMsg & { type: 'confirm' }) => confirms.onConfirm(ctx, m)),
      reply: ignore,
    };
  }

  private onAomSign(ctx: Ctx<NeoMsg>, m: AomSign): void {
    if (m.epoch === this.aomEpoch && (!this.lastSign || m.seq > this.lastSign.seq)) this.lastSign = m;
    this.aom.receive(ctx, m);
  }

  /** Periodic work: state and recovery requests, view-change resends, suspicion, then every retransmission still due. */
  private retry(ctx: Ctx<NeoMsg>): void {
    this.stateTransfer.ask(ctx);
    if (this.recovery.active) return this.recovery.retry(ctx);
    this.sync.resendEpochOne(ctx);
    if (this.status === 'view-change') return this.viewChange.resend(ctx);
    if (this.viewChange.suspect(ctx)) return;
    this.gaps.retry(ctx);
    this.sync.resendLatest(ctx);
    this.sync.announceEpoch(ctx);
    if (this.isLeader) this.clients.resendDirect(ctx);
    this.confirms.plead(ctx);
    this.viewChange.resendStart(ctx);
  }
}
