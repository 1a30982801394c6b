import { Receiver } from '../hydra/receiver.js';
import { leaderOf } from '../protocol/leader.js';
import { crashFaults } from '../protocol/quorum.js';
import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { PaxosReassembly, chunksOf } from './codec.js';
import type { HydraPaxosMsg, PaxosMsg, PxChunk } from './messages.js';
import { invariant } from '../protocol/invariant.js';
import { CrossShardHolds } from './cross-shard-holds.js';
import { GapAgreement } from './gap-agreement.js';
import { ReplicaLog } from './log.js';
import { NormalCase } from './normal-case.js';
import type { HydraPaxosObserver, HydraPaxosParams } from './replica-params.js';
import { StateTransfer } from './state-transfer.js';
import { Synchronization } from './sync.js';
import { ViewChange } from './view-change.js';

export type { HydraPaxosObserver, HydraPaxosParams, HydraPaxosRefusal, ViewChangeReason } from './replica-params.js';

export type Status = 'recovering' | 'normal' | 'view-change';

type Handlers = { [T in PaxosMsg['type']]: (ctx: Ctx<HydraPaxosMsg>, m: Extract<PaxosMsg, { type: T }>) => void };

/**
 * A HydraPaxos replica (NOPaxos over Hydra's ordering; the protocol as implemented is
 * docs/hydrapaxos.md): the group's Hydra receiver feeds it; every replica logs each delivery in
 * Hydra's order; all execute (so a new leader and a restarted replica have state), only the
 * leader's reply carries the result, and a client commits on f+1 replies for the same (view,
 * slot) including the leader's.
 *
 * This class is the host: it owns the view, the status and the subprotocols, and hands each
 * message type to one handler. Each subprotocol is a file that owns its state:
 * - normal-case.ts: Hydra's deliveries, held in order by the release buffer, into the log (log.ts);
 * - gap-agreement.ts: a drop notification's slot recovered from a peer, or filled with a NO-OP
 *   that f+1 replicas record (NOPaxos's gap agreement);
 * - sync.ts: the leader's SYNC makes the log prefix f+1 replicas hold stable (NOPaxos's synchronization);
 * - view-change.ts: the next view's leader (view mod n) takes the longest log and every NO-OP
 *   any of f+1 replicas knows (NOPaxos's view change);
 * - state-transfer.ts: a booting, restarted or lagging replica adopts a peer's state;
 * - cross-shard-holds.ts: HydraTxn's holds on messages a whole shard may have lost.
 * Sequencer failure is Hydra's: the embedded receiver takes part in reconfiguration.
 */
export class HydraPaxosReplica implements Core<HydraPaxosMsg> {
  readonly receiver: Receiver;
  readonly me: number;
  readonly n: number;
  readonly f: number;
  private viewNumber = 0;
  status: Status = 'recovering';
  /** The last view in which this replica was normal. */
  lastNormal = 0;
  heardLeaderAt = 0;
  /** Numbers state requests and chunked messages. */
  nonce = 0;
  readonly log: ReplicaLog;
  readonly normal: NormalCase;
  readonly gaps: GapAgreement;
  readonly sync: Synchronization;
  readonly viewChange: ViewChange;
  readonly stateTransfer: StateTransfer;
  readonly txn: CrossShardHolds;
  private readonly reassembly = new PaxosReassembly();
  private readonly handlers: Handlers;

  constructor(readonly p: HydraPaxosParams, readonly obs: HydraPaxosObserver) {
    this.me = p.replicas.indexOf(p.id);
    if (this.me < 0) throw new Error(`member ${p.id} is not a replica of group ${p.group}`);
    this.n = p.replicas.length;
    this.f = crashFaults(this.n);
    this.log = new ReplicaLog(p.app, obs, () => `view ${this.view}, ${this.status}`);
    this.normal = new NormalCase(this);
    this.gaps = new GapAgreement(this);
    this.sync = new Synchronization(this);
    this.viewChange = new ViewChange(this);
    this.stateTransfer = new StateTransfer(this);
    this.txn = new CrossShardHolds(this);
    this.receiver = new Receiver({ ...p.receiver, id: p.id, group: p.group }, {
      ...obs.hydra,
      delivered: (d, now) => {
        obs.hydra.delivered(d, now);
        this.normal.inbox.push(d);
      },
    });
    this.handlers = this.handlerTable();
  }

  /** For tests and metrics. */
  get state() {
    return {
      view: this.view, status: this.status, end: this.log.end, executed: this.log.executed, logSinceSync: this.log.length,
      waiting: this.normal.buffer.size, held: this.txn.heldEntries.size, store: this.log.store.contents(),
    };
  }

  get view(): number {
    return this.viewNumber;
  }

  /** Moves to `view`; a replica's view only advances. */
  set view(view: number) {
    invariant(view >= this.viewNumber, 'view-advances', () => `view ${view} after view ${this.viewNumber} (${this.status})`);
    this.viewNumber = view;
  }

  start(ctx: Ctx<HydraPaxosMsg>): void {
    this.receiver.start(ctx);
    this.heardLeaderAt = ctx.now;
    if (this.f === 0) this.stateTransfer.startFresh(ctx);
    else this.stateTransfer.request(ctx, null);
    ctx.setTimer('px:tick', this.p.gapRetryUs);
  }

  receive(ctx: Ctx<HydraPaxosMsg>, m: HydraPaxosMsg): void {
    if (!m.type.startsWith('px-')) {
      this.receiver.receive(ctx, m as Parameters<Receiver['receive']>[1]);
      this.normal.take(ctx);
      return;
    }
    this.dispatch(ctx, m as PaxosMsg);
  }

  timer(ctx: Ctx<HydraPaxosMsg>, name: string): void {
    if (name !== 'px:tick') {
      this.receiver.timer(ctx, name);
      this.normal.take(ctx);
      return;
    }
    this.tick(ctx);
    ctx.setTimer('px:tick', this.p.gapRetryUs);
  }

  /** The replica number of the leader of `view`. */
  leaderOf(view: number): number {
    return leaderOf(view, this.n);
  }

  /** The member id of the leader of `view`. */
  leaderNode(view: number): NodeId {
    return this.p.replicas[this.leaderOf(view)]!;
  }

  get isLeader(): boolean {
    return this.status === 'normal' && this.leaderOf(this.view) === this.me;
  }

  peers(): NodeId[] {
    return this.p.replicas.filter((_, i) => i !== this.me);
  }

  /** Sends a message that may exceed a datagram (a log or a state) as chunks. */
  sendBulk(ctx: Ctx<HydraPaxosMsg>, to: NodeId[], m: PaxosMsg): void {
    if (to.length === 0) return;
    for (const c of chunksOf(m, this.me, ++this.nonce)) ctx.multicast(to, c);
  }

  private dispatch(ctx: Ctx<HydraPaxosMsg>, m: PaxosMsg): void {
    (this.handlers[m.type] as (ctx: Ctx<HydraPaxosMsg>, m: PaxosMsg) => void)(ctx, m);
  }

  /** One handler per message type. */
  private handlerTable(): Handlers {
    const { gaps, sync, viewChange, stateTransfer, txn } = this;
    const leading = <M>(handle: (ctx: Ctx<HydraPaxosMsg>, m: M) => void) => (ctx: Ctx<HydraPaxosMsg>, m: M) => {
      if (this.isLeader) handle(ctx, m);
    };
    return {
      'px-chunk': (ctx, m) => this.onChunk(ctx, m),
      'px-gap-request': (ctx, m) => gaps.onRequest(ctx, m.replica, m.slot),
      'px-gap-reply': (ctx, m) => gaps.onReply(ctx, m),
      'px-gap-commit': (ctx, m) => gaps.onCommit(ctx, m.view, m.slot),
      'px-gap-commit-ok': (ctx, m) => gaps.onCommitOk(ctx, m.view, m.replica, m.slot),
      'px-sync': (ctx, m) => sync.onSync(ctx, m),
      'px-sync-ok': (ctx, m) => sync.onSyncOk(ctx, m.view, m.replica, m.key),
      'px-sync-commit': (_ctx, m) => sync.onSyncCommit(m.view, m.key),
      'px-view-change-request': (ctx, m) => viewChange.onRequest(ctx, m.view),
      'px-view-change': (ctx, m) => viewChange.onViewChange(ctx, m),
      'px-start-view': (ctx, m) => viewChange.onStartView(ctx, m),
      'px-state-request': (ctx, m) => stateTransfer.onRequest(ctx, m.replica, m.nonce),
      'px-state-empty': (ctx, m) => stateTransfer.onEmpty(ctx, m.replica, m.nonce, m.recovering),
      'px-state': (ctx, m) => stateTransfer.onState(ctx, m),
      'px-hold': (ctx, m) => txn.onHold(ctx, m.view, m.hold),
      'px-hold-ok': (_ctx, m) => txn.onHoldOk(m.view, m.replica, m.hold),
      'px-txn-find': leading((ctx, m) => txn.crossShard?.onFind(ctx, m)),
      'px-txn-answer': leading((ctx, m) => txn.crossShard?.onAnswer(ctx, m)),
      'px-txn-decide': leading((ctx, m) => txn.crossShard?.onDecide(ctx, m)),
      'px-txn-decided': leading((ctx, m) => txn.crossShard?.onDecided(ctx, m.group, m.stamp)),
      'px-reply': () => {},
    };
  }

  private onChunk(ctx: Ctx<HydraPaxosMsg>, m: PxChunk): void {
    let whole: PaxosMsg | null;
    try {
      whole = this.reassembly.add(m);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.obs.rejected(`chunk-${e.reason}`);
      return;
    }
    if (whole) this.dispatch(ctx, whole);
  }

  /** Periodic work: state requests, view-change resends and timeouts, the leader's SYNC, gap retries. */
  private tick(ctx: Ctx<HydraPaxosMsg>): void {
    this.stateTransfer.tick(ctx);
    if (this.status === 'recovering') return;
    if (this.status === 'view-change') return this.viewChange.tick(ctx);
    if (this.isLeader) {
      this.sync.tick(ctx);
    } else if (ctx.now - this.heardLeaderAt > this.p.viewChangeUs) {
      return this.viewChange.start(ctx, this.view + 1, 'leader-silent');
    }
    this.gaps.tick(ctx);
    if (this.isLeader) this.txn.crossShard?.tick(ctx);
  }
}
