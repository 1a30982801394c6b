import type { Ctx, NodeId } from '../runtime/core.js';
import type {
  VrCommit, VrDoViewChange, VrGetState, VrLog, VrMsg, VrNewState, VrPrepare, VrPrepareOk, VrRecovery, VrRecoveryResponse,
  VrRequest, VrStartView, VrStartViewChange,
} from './messages.js';
import { Votes } from '../protocol/quorum.js';
import { Quorum } from './quorum.js';

/** The replicated state machine: a pure function from state and command to the next state. */
export interface StateMachine<S, C> {
  /** The state before op 1, the same at every replica. */
  readonly initial: S;
  /** Must give the same result at every replica for the same inputs (no clock, no randomness). */
  apply(state: S, command: C): S;
}

export interface VrParams {
  /** Node ids of the group, by replica number (the primary of view v is replica v mod n). */
  members: readonly NodeId[];
  /** This replica's number. */
  me: number;
  /** A backup that hears nothing from its primary for this long starts a view change (§4.2). */
  viewChangeUs: number;
}

export type VrStatus = 'normal' | 'view-change' | 'recovering';
/** How a replica became normal. */
export type VrNormalBy = 'view-change' | 'recovery' | 'first-start' | 'state-transfer';
/** Invariants a replica checks as it goes; any one broken is a bug. */
export type VrInvariant = 'ack-beyond-log' | 'view-change-log' | 'log-behind-commit' | 'view-regressed';
/** Messages a replica refuses as bad input. */
export type VrRefusal = 'unknown-replica';

export interface VrObserver<S, C> {
  /** Op `op` committed here and was applied, giving `state`. */
  applied(op: number, command: C, state: S): void;
  /** The committed state jumped to op `commit` by taking another replica's snapshot (§5.2). */
  adopted(commit: number, state: S): void;
  /** Entered normal status in `view` (after a view change, a recovery or the group's first start). */
  normal(view: number, primary: boolean, how: VrNormalBy): void;
  /** Left normal status to change to `view` (§4.2). */
  changingView(view: number): void;
  invariantViolated(kind: VrInvariant, detail: string): void;
  /** A message refused as bad input (e.g. from a replica number outside the group). */
  rejected(reason: VrRefusal, detail: string): void;
}

/**
 * One replica of a Viewstamped Replication group (Liskov & Cowling, "Viewstamped Replication
 * Revisited", 2012), sans-IO in the manner of etcd's raft: it is fed messages and ticks with a
 * Ctx and answers through it; one handler per message type; votes are counted by the shared `Votes`, against the group's `Quorum`.
 *
 * Replicas keep nothing on disk. A replica always boots in `recovering` (§4.3): it asks every
 * other replica (RECOVERY with a fresh nonce) and becomes normal once f+1 normal replicas have
 * answered, one of them the primary of the latest view they report, whose log it takes. A
 * replica that is itself recovering answers `recovering: true`; when f+1 replicas (itself
 * included) are all recovering, the group is starting for the first time — under the fault
 * model of §4.3, at most f replicas are ever down or recovering at once once the group has
 * started, so f+1 replicas with no state can only be the first start — and it begins in view 0
 * from the state machine's initial state.
 *
 * The log is a committed snapshot plus the uncommitted suffix (§5.1's checkpoint): committed
 * ops are applied and dropped, so every log-carrying message is bounded by the state's size.
 */
export class VrReplica<S, C> {
  private status: VrStatus = 'recovering';
  private view = 0;
  /** The latest view in which this replica was normal (v' of DOVIEWCHANGE). */
  private lastNormal = 0;
  private commitState: S;
  private commit = 0;
  /** Prepared ops commit+1 … opNumber. */
  private ops: C[] = [];
  private readonly q: Quorum;
  /** Primary: the highest op each backup acknowledged in this view. */
  private acked = new Map<number, number>();
  /** View change: who sent STARTVIEWCHANGE (or DOVIEWCHANGE) for `view`, and the DOVIEWCHANGEs the new primary holds. */
  private startViewChanges: Votes;
  private doViewChanges: Votes<VrDoViewChange<S, C>>;
  private changeSince = 0;
  /** Backup: last time the primary of `view` was heard from. */
  private lastHeard = 0;
  private nonce = 0;
  /** RECOVERYRESPONSEs, the latest of each replica (f+1 normal ones, the primary's among them, recover this one). */
  private readonly responses: Votes<VrRecoveryResponse<S, C>>;
  private stateAskedAt = -Infinity;

  constructor(private readonly p: VrParams, private readonly sm: StateMachine<S, C>, private readonly obs: VrObserver<S, C>) {
    this.q = new Quorum(p.members.length);
    this.startViewChanges = new Votes(this.q.f);
    this.doViewChanges = new Votes(this.q.size);
    this.responses = new Votes(this.q.size);
    if (!Number.isInteger(p.me) || p.me < 0 || p.me >= p.members.length) throw new Error(`replica ${p.me} is not in a group of ${p.members.length}`);
    this.commitState = sm.initial;
  }

  /** The committed state (ops 1 … `committed` applied). */
  get state(): S {
    return this.commitState;
  }

  get committed(): number {
    return this.commit;
  }

  get opNumber(): number {
    return this.commit + this.ops.length;
  }

  get currentView(): number {
    return this.view;
  }

  get currentStatus(): VrStatus {
    return this.status;
  }

  get isPrimary(): boolean {
    return this.status === 'normal' && this.q.primaryOf(this.view) === this.p.me;
  }

  /** Ops prepared but not yet committed. */
  get uncommitted(): number {
    return this.ops.length;
  }

  /** Boots with no state: recovery (§4.3), or the first start when f+1 replicas have none. */
  start(ctx: Ctx<VrMsg<S, C>>): void {
    this.nonce = ctx.now;
    this.tryRecover(ctx);
    if (this.status === 'recovering') this.tick(ctx);
  }

  /** The primary appends a client command to its log and sends PREPARE (§4.1 step 3). */
  propose(ctx: Ctx<VrMsg<S, C>>, command: C): boolean {
    if (!this.isPrimary) return false;
    this.ops.push(command);
    this.toOthers(ctx, { type: 'vr-prepare', view: this.view, op: this.opNumber, command, commit: this.commit });
    this.advanceCommit(ctx);
    return true;
  }

  /** Hands a command to the primary: proposed here if this replica leads, else sent to the primary it knows. */
  request(ctx: Ctx<VrMsg<S, C>>, command: C): void {
    if (this.isPrimary) this.propose(ctx, command);
    else if (this.status === 'normal') ctx.send(this.primaryNode(), { type: 'vr-request', command });
  }

  /** Retransmissions, heartbeats and timeouts; called periodically (the primary's heartbeat period). */
  tick(ctx: Ctx<VrMsg<S, C>>): void {
    switch (this.status) {
      case 'recovering':
        this.toOthers(ctx, { type: 'vr-recovery', replica: this.p.me, nonce: this.nonce });
        return;
      case 'view-change':
        if (ctx.now - this.changeSince > this.p.viewChangeUs) return this.startViewChange(ctx, this.view + 1);
        this.toOthers(ctx, { type: 'vr-start-view-change', view: this.view, replica: this.p.me });
        if (this.startViewChanges.reached) this.sendDoViewChange(ctx);
        return;
      case 'normal':
        if (this.isPrimary) return this.heartbeat(ctx);
        if (ctx.now - this.lastHeard > this.p.viewChangeUs) this.startViewChange(ctx, this.view + 1);
    }
  }

  receive(ctx: Ctx<VrMsg<S, C>>, m: VrMsg<S, C>): void {
    if ('replica' in m && (m.replica >= this.p.members.length || m.replica === this.p.me)) {
      this.obs.rejected('unknown-replica', `${m.type} from replica ${m.replica} (group of ${this.p.members.length}, this is ${this.p.me})`);
      return;
    }
    switch (m.type) {
      case 'vr-prepare': return this.onPrepare(ctx, m);
      case 'vr-prepare-ok': return this.onPrepareOk(ctx, m);
      case 'vr-commit': return this.onCommit(ctx, m);
      case 'vr-start-view-change': return this.onStartViewChange(ctx, m);
      case 'vr-do-view-change': return this.onDoViewChange(ctx, m);
      case 'vr-start-view': return this.onStartView(ctx, m);
      case 'vr-recovery': return this.onRecovery(ctx, m);
      case 'vr-recovery-response': return this.onRecoveryResponse(ctx, m);
      case 'vr-get-state': return this.onGetState(ctx, m);
      case 'vr-new-state': return this.onNewState(ctx, m);
      case 'vr-request': return this.onRequest(ctx, m);
    }
  }

  // ── normal operation (§4.1) ──

  private onPrepare(ctx: Ctx<VrMsg<S, C>>, m: VrPrepare<C>): void {
    if (!this.followView(ctx, m.view)) return;
    if (m.op === this.opNumber + 1) this.ops.push(m.command);
    else if (m.op > this.opNumber + 1) this.askState(ctx);
    this.acknowledge(ctx);
    this.commitUpTo(ctx, m.commit);
  }

  private onPrepareOk(ctx: Ctx<VrMsg<S, C>>, m: VrPrepareOk): void {
    if (!this.isPrimary || m.view !== this.view) return;
    if (m.op > this.opNumber) {
      this.obs.invariantViolated('ack-beyond-log', `replica ${m.replica} acknowledged op ${m.op} of view ${m.view}; the primary's log ends at ${this.opNumber}`);
      return;
    }
    this.acked.set(m.replica, Math.max(m.op, this.acked.get(m.replica) ?? 0));
    this.advanceCommit(ctx);
  }

  private onCommit(ctx: Ctx<VrMsg<S, C>>, m: VrCommit): void {
    if (!this.followView(ctx, m.view)) return;
    this.commitUpTo(ctx, m.commit);
  }

  private onRequest(ctx: Ctx<VrMsg<S, C>>, m: VrRequest<C>): void {
    if (this.isPrimary) this.propose(ctx, m.command);
  }

  /**
   * A backup takes a PREPARE or COMMIT of `view` from its primary. A message of a later view
   * (or of the view it is changing to) means that view started without it: it keeps only its
   * committed prefix, which every later view's log holds, and fetches the rest (§5.2).
   */
  private followView(ctx: Ctx<VrMsg<S, C>>, view: number): boolean {
    if (this.status === 'recovering' || view < this.view || this.q.primaryOf(view) === this.p.me) return false;
    if (view > this.view || this.status === 'view-change') {
      this.setView(view);
      this.ops = [];
      this.status = 'normal';
      this.lastNormal = view;
      this.obs.normal(view, false, 'state-transfer');
      this.askState(ctx);
    }
    this.lastHeard = ctx.now;
    return true;
  }

  private heartbeat(ctx: Ctx<VrMsg<S, C>>): void {
    for (let r = 0; r < this.p.members.length; r++) {
      if (r === this.p.me) continue;
      const to = this.p.members[r]!;
      const from = Math.max(this.acked.get(r) ?? 0, this.commit);
      if (from >= this.opNumber) {
        ctx.send(to, { type: 'vr-commit', view: this.view, commit: this.commit });
        continue;
      }
      for (let op = from + 1; op <= this.opNumber; op++) {
        ctx.send(to, { type: 'vr-prepare', view: this.view, op, command: this.ops[op - this.commit - 1]!, commit: this.commit });
      }
    }
  }

  private advanceCommit(ctx: Ctx<VrMsg<S, C>>): void {
    const k = this.q.highestAcknowledged([this.opNumber, ...this.acked.values()]);
    if (k <= this.commit) return;
    this.commitUpTo(ctx, k);
    this.toOthers(ctx, { type: 'vr-commit', view: this.view, commit: this.commit });
  }

  private acknowledge(ctx: Ctx<VrMsg<S, C>>): void {
    ctx.send(this.primaryNode(), { type: 'vr-prepare-ok', view: this.view, op: this.opNumber, replica: this.p.me });
  }

  /** Applies committed ops in order up to `k` (or as far as the log goes, fetching the rest). */
  private commitUpTo(ctx: Ctx<VrMsg<S, C>>, k: number): void {
    if (k > this.opNumber) this.askState(ctx);
    while (this.commit < Math.min(k, this.opNumber)) {
      const command = this.ops.shift()!;
      this.commit++;
      this.commitState = this.sm.apply(this.commitState, command);
      this.obs.applied(this.commit, command, this.commitState);
    }
  }

  // ── state transfer (§5.2) ──

  private askState(ctx: Ctx<VrMsg<S, C>>): void {
    if (ctx.now - this.stateAskedAt < this.p.viewChangeUs / 10) return;
    this.stateAskedAt = ctx.now;
    ctx.send(this.primaryNode(), { type: 'vr-get-state', view: this.view, op: this.opNumber, replica: this.p.me });
  }

  private onGetState(ctx: Ctx<VrMsg<S, C>>, m: VrGetState): void {
    if (!this.isPrimary || m.view !== this.view) return;
    ctx.send(this.p.members[m.replica]!, { type: 'vr-new-state', view: this.view, log: this.log() });
  }

  private onNewState(ctx: Ctx<VrMsg<S, C>>, m: VrNewState<S, C>): void {
    if (this.status !== 'normal' || m.view !== this.view || this.isPrimary) return;
    this.lastHeard = ctx.now;
    // Within a view the primary's log only grows: a NEWSTATE no longer than this log is an old
    // one (delayed or duplicated), a prefix of it. Taking it would drop ops already acknowledged.
    if (m.log.commit + m.log.ops.length > this.opNumber) this.adopt(m.log);
    this.acknowledge(ctx);
  }

  // ── view change (§4.2) ──

  private startViewChange(ctx: Ctx<VrMsg<S, C>>, view: number): void {
    this.setView(view);
    this.status = 'view-change';
    this.obs.changingView(view);
    this.startViewChanges = new Votes(this.q.f);
    this.doViewChanges = new Votes(this.q.size);
    this.changeSince = ctx.now;
    this.toOthers(ctx, { type: 'vr-start-view-change', view, replica: this.p.me });
  }

  private onStartViewChange(ctx: Ctx<VrMsg<S, C>>, m: VrStartViewChange): void {
    if (this.status === 'recovering' || m.view < this.view) return;
    if (m.view > this.view) this.startViewChange(ctx, m.view);
    if (this.status !== 'view-change') return;
    if (this.startViewChanges.add(m.replica, true) === 'reached') this.sendDoViewChange(ctx);
  }

  private sendDoViewChange(ctx: Ctx<VrMsg<S, C>>): void {
    const m: VrDoViewChange<S, C> = { type: 'vr-do-view-change', view: this.view, lastNormal: this.lastNormal, log: this.log(), replica: this.p.me };
    if (this.q.primaryOf(this.view) === this.p.me) this.onDoViewChange(ctx, m);
    else ctx.send(this.primaryNode(), m);
  }

  private onDoViewChange(ctx: Ctx<VrMsg<S, C>>, m: VrDoViewChange<S, C>): void {
    if (this.status === 'recovering' || m.view < this.view) return;
    if (this.q.primaryOf(m.view) !== this.p.me) return;
    if (m.view > this.view) this.startViewChange(ctx, m.view);
    if (this.status === 'normal') {
      // Already started this view: the sender missed STARTVIEW.
      ctx.send(this.p.members[m.replica]!, { type: 'vr-start-view', view: this.view, log: this.log() });
      return;
    }
    if (m.replica !== this.p.me) this.startViewChanges.add(m.replica, true);
    this.doViewChanges.set(m.replica, m);
    if (!this.doViewChanges.has(this.p.me) && this.startViewChanges.reached) this.sendDoViewChange(ctx);
    if (this.doViewChanges.has(this.p.me) && this.doViewChanges.reached) this.beginView(ctx);
  }

  /** The new primary takes the log of the latest normal view with the most ops, and the highest commit-number. */
  private beginView(ctx: Ctx<VrMsg<S, C>>): void {
    const all = this.doViewChanges.values();
    const top = (d: VrDoViewChange<S, C>) => d.log.commit + d.log.ops.length;
    const best = all.reduce((a, b) => (b.lastNormal > a.lastNormal || (b.lastNormal === a.lastNormal && top(b) > top(a)) ? b : a));
    const k = Math.max(...all.map((d) => d.log.commit));
    if (top(best) < k) {
      this.obs.invariantViolated('view-change-log', `view ${this.view}: the chosen log ends at ${top(best)} below commit ${k}`);
    }
    this.adopt(best.log);
    this.status = 'normal';
    this.lastNormal = this.view;
    this.acked = new Map();
    this.commitUpTo(ctx, k);
    this.obs.normal(this.view, true, 'view-change');
    this.toOthers(ctx, { type: 'vr-start-view', view: this.view, log: this.log() });
  }

  private onStartView(ctx: Ctx<VrMsg<S, C>>, m: VrStartView<S, C>): void {
    if (this.status === 'recovering' || m.view < this.view || this.q.primaryOf(m.view) === this.p.me) return;
    if (m.view === this.view && this.status === 'normal') {
      this.acknowledge(ctx);
      return;
    }
    this.setView(m.view);
    this.adopt(m.log);
    this.status = 'normal';
    this.lastNormal = m.view;
    this.lastHeard = ctx.now;
    this.obs.normal(m.view, false, 'view-change');
    this.acknowledge(ctx);
  }

  // ── recovery (§4.3) ──

  private onRecovery(ctx: Ctx<VrMsg<S, C>>, m: VrRecovery): void {
    if (this.status === 'view-change') return;
    const recovering = this.status === 'recovering';
    ctx.send(this.p.members[m.replica]!, {
      type: 'vr-recovery-response', view: recovering ? 0 : this.view, nonce: m.nonce, replica: this.p.me, recovering,
      log: this.isPrimary ? this.log() : null,
    });
  }

  private onRecoveryResponse(ctx: Ctx<VrMsg<S, C>>, m: VrRecoveryResponse<S, C>): void {
    if (this.status !== 'recovering' || m.nonce !== this.nonce) return;
    // A reordered older answer never replaces a newer one (views only grow).
    if ((this.responses.get(m.replica)?.view ?? -1) > m.view) return;
    this.responses.set(m.replica, m);
    this.tryRecover(ctx);
  }

  private tryRecover(ctx: Ctx<VrMsg<S, C>>): void {
    const normal = this.responses.values().filter((r) => !r.recovering);
    const view = Math.max(0, ...normal.map((r) => r.view));
    const primary = normal.find((r) => r.view === view && r.replica === this.q.primaryOf(view) && r.log);
    if (!this.responses.reachedBy((r) => !r.recovering) || !primary) {
      // A fresh group: f others answered that they are recovering too, f+1 with this one.
      if (this.responses.count((r) => r.recovering) < this.q.f) return;
      this.status = 'normal';
      this.lastHeard = ctx.now;
      this.obs.normal(this.view, this.isPrimary, 'first-start');
      return;
    }
    this.setView(view);
    this.adopt(primary.log!);
    this.status = 'normal';
    this.lastNormal = view;
    this.lastHeard = ctx.now;
    this.obs.normal(view, false, 'recovery');
    this.acknowledge(ctx);
  }

  // ── shared ──

  private log(): VrLog<S, C> {
    return { commit: this.commit, state: this.commitState, ops: [...this.ops] };
  }

  /**
   * Replaces the log with another replica's (STARTVIEW, NEWSTATE, RECOVERYRESPONSE). Committed
   * ops are never undone: if this replica has committed further than the log's snapshot, it
   * keeps its state and takes only the ops after its own commit-number.
   */
  private adopt(log: VrLog<S, C>): void {
    if (log.commit > this.commit) {
      this.commit = log.commit;
      this.commitState = log.state;
      this.ops = [...log.ops];
      this.obs.adopted(this.commit, this.commitState);
      return;
    }
    const top = log.commit + log.ops.length;
    if (top < this.commit) {
      this.obs.invariantViolated('log-behind-commit', `a log ending at op ${top} would undo committed op ${this.commit} (view ${this.view})`);
      this.ops = [];
      return;
    }
    this.ops = log.ops.slice(this.commit - log.commit);
  }

  private setView(view: number): void {
    if (view < this.view) {
      this.obs.invariantViolated('view-regressed', `view ${view} after view ${this.view}`);
      return;
    }
    this.view = view;
  }

  private primaryNode(): NodeId {
    return this.p.members[this.q.primaryOf(this.view)]!;
  }

  private toOthers(ctx: Ctx<VrMsg<S, C>>, m: VrMsg<S, C>): void {
    ctx.multicast(this.p.members.filter((_, r) => r !== this.p.me), m);
  }
}
