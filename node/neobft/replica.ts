import { LRUCache } from 'lru-cache';
import { sha256 } from '../crypto/hash.js';
import { type KvRequest, KvStore, decodeKvRequest, encodeKvSnapshot, encodeResult, fromKnownClient, openKvState } from '../apps/kv.js';
import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import type { AomSign, OrderedMulticast } from './aom-messages.js';
import { type AomDelivery, AomReceiver, type AomReceiverAuth, type AomReceiverObserver } from './aom-receiver.js';
import { type ReplicaKeys, replyMac, sign, verifyRelayedOc, verifySigned } from './auth.js';
import { equalBytes, hex } from '../crypto/bytes.js';
import type { NeoMsg } from './messages.js';
import {
  type Confirm, type GapDecision, type GapDrop, type GapVote, type LogEntry, NOOP_DIGEST, type Recovery, type RecoveryReply, type Reply, type StateReply,
  type Sync, type View, type ViewChange, type ViewChangeFetch, type ViewStart,
} from './protocol-messages.js';
import { RecoveryRound, type RecoveryOutcome } from './recovery.js';
import {
  type CheckEnv, type CheckedViewChange, type FinalPoint, GENESIS, type MergedLog, checkEntry, checkSyncCert, checkViewChange, compareViews, leaderOf,
  mergeViewChanges, viewKey,
} from './view-change.js';
import { signedBody } from './codec.js';
import { Backoff } from '../protocol/backoff.js';

/** Slots between SYNCs. */
export const SYNC_INTERVAL = 64;
/**
 * Slots past the sync point a replica fills; later deliveries wait. Bounds what a VIEW-CHANGE
 * carries (the interval before the sync point plus this window must fit one datagram).
 */
export const LOG_WINDOW = 96;
/** AOM deliveries held while a view change runs or a new epoch is not yet certified. */
const MAX_HELD = 10_000;
/** Epochs a sequencer change looks ahead for one whose sequencer is not known to lie (at least spec.sequencers' maximum, 9). */
const MAX_EPOCH_SKIP = 16;
/** Unsettled slots past the executed point a replica asks the others' CONFIRMs for at a time: execution waits on the first of them. */
const PLEA_WINDOW = 8;

export interface ReplicaParams {
  index: number;
  f: number;
  /** Member ids of the replicas, by index. */
  replicas: NodeId[];
  group: number;
  /** The AOM authenticator of each epoch's sequencer (null past the last epoch with keys). */
  authFor(epoch: number): AomReceiverAuth | null;
  /** Where epoch e's sequencer is (the leader forwards requests clients sent directly). */
  sequencerNode(epoch: number): NodeId;
  keys: ReplicaKeys;
  /** The HMAC key this replica shares with a client, and where the client is. */
  clientKey(client: number): Uint8Array;
  clientNode(client: number): NodeId;
  /** Clients of the testbed (ids 0 … clients − 1): a request in any other client's name is refused. */
  clients: number;
  gapTimeoutUs: number;
  retryUs: number;
  /**
   * Suspicion timeout: a slot unresolved this long makes the replica give up on the leader
   * (view change to the next leader); a request clients sent directly that AOM has not
   * delivered this long makes it give up on the sequencer (view change into the next epoch).
   * A view change that does not complete in this time (doubled per attempt) moves on.
   */
  viewChangeUs: number;
  /**
   * Byzantine-network mode: the sequencer may lie (e.g. send different messages under one number
   * to different replicas), so a slot is filled only once 2f+1 replicas confirmed the same digest.
   */
  byzantineNetwork: boolean;
  /** Decodes a delivered request, refusing it with a WireError (e.g. `openSignedRequest`); plain decoding unless set. */
  openRequest?(payload: Uint8Array): KvRequest;
}

/** Why a replica refused a protocol message or a delivered request (`switchyard_neobft_invalid_total{reason}`). */
export type NeoBftRefusal =
  | 'bad-confirm' | 'bad-gap-decision' | 'bad-gap-drop' | 'bad-gap-find' | 'bad-gap-vote' | 'bad-state-certificate' | 'bad-sync'
  | 'bad-view-change' | 'bad-view-start' | 'certificate-for-another-slot' | 'forged-certificate' | 'gap-decision-contradicts-confirm'
  | 'malformed-request' | 'bad-client-signature' | 'unknown-client' | 'no-keys-for-next-epoch' | 'view-change-below-sync-point'
  | 'malformed-state' | 'state-digest-mismatch' | 'other-view' | 'bad-recovery-reply';

export interface ReplicaObserver extends Pick<AomReceiverObserver, 'rejected' | 'verified'> {
  executed(slot: number, noop: boolean): void;
  synced(slot: number): void;
  gapAgreement(slot: number, outcome: 'message' | 'no-op'): void;
  rolledBack(slots: number): void;
  invalid(reason: NeoBftRefusal): void;
  viewChanged(view: View, reason: 'leader' | 'sequencer' | 'timeout' | 'joined'): void;
  viewStarted(view: View): void;
  /** The replica was behind the others' compacted prefix and took their state at `slot`. */
  stateTransferred(slot: number): void;
}

interface Slot {
  oc: OrderedMulticast | null;
  request: KvRequest | null;
  undo?: ReturnType<KvStore['execute']>['undo'];
  /** Kept when an old final slot is compacted (its certificate and request dropped). */
  digest?: Uint8Array;
  /** What proves the entry to a new leader: 2f+1 CONFIRMs (Byzantine-network mode) or a no-op's 2f+1 GAP-COMMITs. */
  proof?: Confirm[] | GapVote[];
}

interface Gap {
  finds: Map<number, GapDrop>;
  decision: GapDecision | null;
  prepares: Map<number, GapVote>;
  commits: Map<number, GapVote>;
  votedDrop: boolean;
  done: boolean;
}

const digestOf = (oc: OrderedMulticast | null) => (oc ? oc.header.digest : NOOP_DIGEST);

/**
 * A NeoBFT replica (NeoBFT §5; docs/neobft.md#normal-case) in the normal case: it takes slots from AOM in
 * sequence order, executes speculatively and replies to the client with (view, slot, log hash,
 * result) under an HMAC. A dropped slot is fetched from the leader (QUERY/QUERY-REPLY; the
 * certificate verifies itself); if the leader missed it too, gap agreement decides between the
 * message and a no-op (GAP-FIND → GAP-RECV/GAP-DROP → GAP-DECISION → GAP-PREPARE → GAP-COMMIT,
 * 2f+1 of each), rolling back speculative execution when the slot becomes a no-op.
 *
 * A leader that stops settling slots, or a sequencer that stops ordering, is replaced by a view
 * change (view-change.ts for the merge): ⟨VIEW-CHANGE⟩ to every replica, the new leader's
 * ⟨VIEW-START⟩ naming 2f+1 of them, every replica merging the same logs. A view change into a
 * new epoch installs the next sequencer with its own keys; the first slot of an epoch is a SYNC
 * point whose 2f+1 matching SYNCs (EPOCH-START) form the epoch certificate, and the new epoch's
 * messages are held until it exists. Messages of older epochs are refused by AOM.
 */
export class Replica implements Core<NeoMsg> {
  private view: View = { epoch: 1, leader: 0 };
  private status: 'normal' | 'view-change' = 'normal';
  /** The view being moved to while status is view-change. */
  private target: View = this.view;
  /**
   * View changes since the last progress (a sync point made final in the current view): every
   * timeout doubles with each (PBFT §4.5.2: a replica waits 2T for view v+2 after view v+1 did
   * not bring progress). Reset when the view starts, a slow testbed — members started apart,
   * a view change slower than the timeout on a loaded host — changed views faster than any view
   * could settle, and the replicas never again agreed on one.
   */
  private attempts = 0;
  /** The slot each epoch started after: epoch e's message seq s fills slot epochStarts[e] + s. */
  private readonly epochStarts = new Map<number, number>([[1, 0]]);
  private certifiedEpoch = 1;
  private held: AomDelivery[] = [];
  /** Delivered past the log window, filled once the sync point moves on. */
  private readonly deferred = new Map<number, OrderedMulticast>();
  /** Since when deliveries have waited past the log window without the sync point moving. */
  private deferredSince: number | null = null;
  /** When the current view started (its epoch's certificate is due within a timeout). */
  private viewStartedAt = 0;
  private readonly missingSince = new Map<number, number>();
  /**
   * Requests clients sent directly that AOM has not delivered yet, by client/request id, with
   * when they arrived (in this view): kept across a view change, whose new leader passes them on.
   */
  private readonly direct = new Map<string, { since: number; payload: Uint8Array; client: number; requestId: number }>();
  /** Per client, an answered request it kept asking for (directly), and since when. */
  private readonly unserved = new Map<number, { requestId: number; since: number }>();
  /** Byzantine-network mode: when we confirmed each slot not yet filled. */
  private readonly unconfirmedSince = new Map<number, number>();
  /** Each client's latest reply, sent again when the client retries an executed request. */
  private readonly lastReplies = new Map<number, Reply>();
  /**
   * Requests AOM delivered lately (a client retrying one of these has lost replies, not its
   * request); the oldest go first (a Set trimmed from its front cost ~10 µs per delivery: V8
   * skips the deleted entries on every walk to the first live one).
   */
  private readonly recent = new LRUCache<string, true>({ max: MAX_HELD });
  /**
   * Each delivered payload opened once: a delivery is noted on arrival and again when it fills
   * its slot, and with signed requests opening costs a signature verification.
   */
  private readonly opened = new WeakMap<Uint8Array, { request: KvRequest | null; refusal: NeoBftRefusal | null }>();
  /** The sequencer's latest separate signature (PK), which may prove our last entry to others. */
  private lastSign: AomSign | null = null;
  /** VIEW-CHANGEs by target view and sender, with their digest and (once checked) contents. */
  private readonly viewChanges = new Map<string, Map<number, { msg: ViewChange; digest: string; checked: CheckedViewChange | null }>>();
  private myViewChange: ViewChange | null = null;
  /** The first epoch found without keys (reported once). */
  private keysExhausted = 0;
  private myViewStart: ViewStart | null = null;
  /** A VIEW-START waiting for VIEW-CHANGEs we have not received. */
  private pendingStart: ViewStart | null = null;
  /** The 2f+1 SYNCs that made the sync point final (a VIEW-CHANGE's certificate). */
  private syncCert: Sync[] = [];
  private readonly aom: AomReceiver;
  private readonly log: (Slot | undefined)[] = [];
  /** Slots AOM reported dropped and not yet resolved. */
  private readonly missing = new Set<number>();
  private readonly gaps = new Map<number, Gap>();
  private readonly hashes: Uint8Array[] = [new Uint8Array(32)];
  private executed = 0;
  private store = new KvStore();
  /** A final point past what we can execute (the slots before it are compacted elsewhere): state transfer wanted. */
  private stateWanted = 0;
  private stateAskedAt = -Infinity;
  /** Byzantine-network mode: candidates per slot by digest, who confirmed what, our own confirms. */
  private readonly candidates = new Map<number, Map<string, OrderedMulticast>>();
  private readonly confirms = new Map<number, Map<string, Map<number, Confirm>>>();
  private readonly myConfirms = new Map<number, Confirm>();
  /**
   * Sequencers seen equivocating: an epoch of theirs had a slot in two versions, each confirmed
   * by a correct replica (us, or f+1 others). Later sequencer changes skip their epochs.
   */
  private readonly equivocators = new Set<NodeId>();
  /** Our confirms re-signed as requests for help (need = true), made once per slot. */
  private readonly pleas = new Map<number, Confirm>();
  /** SYNC votes per slot by log hash; the highest slot 2f+1 replicas agreed on is final. */
  private readonly syncs = new Map<number, Map<string, Map<number, Sync>>>();
  private readonly mySyncs = new Map<number, Sync>();
  private syncPoint = 0;
  /**
   * Every replica starts as a restarted process would, with empty state: it takes part only
   * once a recovery round told it the view and final point (recovery.ts), and took the state
   * there. Null once it has rejoined.
   */
  private recovery: RecoveryRound | null = null;
  private recoveryRounds = 0;
  /** Rejoined at a final point past genesis: waiting for the state there. */
  private awaitingState = false;
  /** Until the sync point reaches this slot, no vote that denies a slot (RecoveryOutcome.muteUntil). */
  private muteUntil = 0;
  /** Our EPOCH-START of epoch 1 (a fresh testbed), sent to its sequencer until it orders something. */
  private epochOneStart: Sync | null = null;
  /** Retransmission schedules (protocol/backoff.ts): per slot for queries and gap agreement, per slot for CONFIRM pleas, per message otherwise. */
  private readonly slotResends: Backoff<number>;
  private readonly pleaResends: Backoff<number>;
  private readonly resends: Backoff<string>;

  constructor(private readonly p: ReplicaParams, private readonly obs: ReplicaObserver) {
    const auth = p.authFor(1);
    if (!auth) throw new Error('no AOM keys for epoch 1');
    // Resent at most every quarter of the suspicion timeout: a few tries before anyone is suspected.
    const maxUs = Math.max(p.retryUs, p.viewChangeUs / 4);
    this.slotResends = new Backoff(p.retryUs, maxUs);
    this.pleaResends = new Backoff(p.retryUs, maxUs);
    this.resends = new Backoff(p.retryUs, maxUs);
    this.aom = new AomReceiver(
      { group: p.group, epoch: 1, index: p.index, auth, gapTimeoutUs: p.gapTimeoutUs, maxBuffered: 10_000 },
      { delivered: (d) => this.onDelivery(d), rejected: (r) => obs.rejected(r), verified: (s, ok) => obs.verified(s, ok) },
    );
  }

  private get isLeader(): boolean {
    return leaderOf(this.view, this.p.replicas.length) === this.p.index;
  }

  private get leaderNode(): NodeId {
    return this.p.replicas[leaderOf(this.view, this.p.replicas.length)]!;
  }

  /** The view ⟨epoch, leader⟩ and whether a view change is under way (for status and tests). */
  get currentView(): View & { changing: boolean } {
    return { ...this.view, changing: this.status === 'view-change' };
  }

  /** The slot an ordering certificate belongs in (-1: an epoch this replica has not entered). */
  private slotOf(oc: OrderedMulticast): number {
    const start = this.epochStarts.get(oc.header.epoch);
    return start === undefined ? -1 : start + oc.header.seq;
  }

  /** Deliveries wait while a view change runs, or while the current epoch has no certificate yet. */
  private get holding(): boolean {
    return this.recovery !== null || this.status === 'view-change' || this.certifiedEpoch < this.view.epoch;
  }

  /** Recovered with a frontier it may have accepted before the restart and forgot (RecoveryOutcome.muteUntil). */
  private get mute(): boolean {
    return this.syncPoint < this.muteUntil;
  }

  private get quorum(): number {
    return 2 * this.p.f + 1;
  }

  /** Log hash after `slot` (for tests and status). */
  logHash(slot: number): Uint8Array | undefined {
    return this.hashes[slot];
  }

  get executedSlots(): number {
    return this.executed;
  }

  /** The digest of the state after the executed slots (what a SYNC at that slot would carry). */
  stateDigest(): Uint8Array {
    return this.store.digest();
  }

  /** The digest held at a slot (NOOP_DIGEST for a no-op), for cross-replica checks. */
  slotDigest(slot: number): Uint8Array | undefined {
    const s = this.log[slot];
    return s ? (s.digest ?? digestOf(s.oc)) : undefined;
  }

  /** How many per-slot records the replica still holds (bounded by SYNC in a long run). */
  get retained(): number {
    return this.gaps.size + this.myConfirms.size + this.confirms.size + this.candidates.size + this.syncs.size;
  }

  /**
   * The context of the input being handled: AOM's delivery callbacks run inside receive() or
   * timer(), and act (query, gap agreement, replies) through it. Set at the top of every input.
   */
  private ctx!: Ctx<NeoMsg>;

  start(ctx: Ctx<NeoMsg>): void {
    this.ctx = ctx;
    ctx.setTimer('retry', this.p.retryUs);
    this.startRecovery(ctx);
  }

  receive(ctx: Ctx<NeoMsg>, m: NeoMsg): void {
    this.ctx = ctx;
    if (m.type === 'recovery') return this.answerRecovery(ctx, m);
    if (m.type === 'recovery-reply') return this.onRecoveryReply(ctx, m);
    // Rejoining: only AOM (held until we are in) and the state we asked for.
    if (this.recovery && m.type !== 'aom' && m.type !== 'aom-sign' && !(m.type === 'state-reply' && this.awaitingState)) return;
    switch (m.type) {
      case 'aom-sign':
        if (m.epoch === this.aomEpoch && (!this.lastSign || m.seq > this.lastSign.seq)) this.lastSign = m;
        this.aom.receive(ctx, m);
        return;
      case 'aom':
        this.aom.receive(ctx, m);
        return;
      case 'direct-request':
        return this.onDirect(ctx, m.payload);
      case 'view-change':
        return this.onViewChange(ctx, m);
      case 'view-start':
        return this.onViewStart(ctx, m);
      case 'view-change-fetch':
        return this.onFetch(ctx, m);
      case 'state-request':
        return this.onStateRequest(ctx, m.replica, m.executed);
      case 'state-reply':
        return this.onStateReply(m);
      case 'sync':
        // Answered even while changing views: a replica waiting for our SYNC (an epoch's
        // certificate, say) must not depend on our view change finishing.
        return this.status === 'view-change' ? this.answerSync(m) : this.onSync(m);
      default:
        break;
    }
    if (this.status === 'view-change') return; // the old view's business waits for the new one
    switch (m.type) {
      case 'query':
        return this.onQuery(ctx, m.replica, m.slot, m.view);
      case 'query-reply':
        if (this.sameView(m.view) && this.missing.has(m.slot)) this.fill(m.slot, m.oc);
        return;
      case 'gap-find':
        return this.onGapFind(ctx, m);
      case 'gap-recv':
      case 'gap-drop':
        return this.onGapReport(ctx, m);
      case 'gap-decision':
        return this.onDecision(ctx, m);
      case 'gap-prepare':
      case 'gap-commit':
        return this.onVote(ctx, m);
      case 'confirm':
        return this.onConfirm(ctx, m);
      default:
        return;
    }
  }

  /** The epoch AOM currently accepts. */
  private aomEpoch = 1;

  timer(ctx: Ctx<NeoMsg>, name: string): void {
    this.ctx = ctx;
    if (this.aom.timer(ctx, name)) return;
    if (name === 'view-change') return this.onViewChangeTimeout(ctx);
    if (name !== 'retry') return;
    ctx.setTimer('retry', this.p.retryUs);
    this.askForState(ctx);
    if (this.recovery) return this.retryRecovery(ctx);
    if (this.epochOneStart) ctx.send(this.p.sequencerNode(1), this.epochOneStart);
    if (this.status === 'view-change') return this.resendViewChange(ctx);
    if (this.suspect(ctx)) return;
    // Retransmit whatever is still unresolved (the network may lose any of it), each item on its own backoff.
    const now = ctx.now;
    for (const slot of this.missing) {
      if (slot > this.syncPoint + LOG_WINDOW || !this.slotResends.due(slot, now)) continue;
      const gap = this.gaps.get(slot);
      if (!gap) {
        if (this.isLeader) this.startGap(ctx, slot);
        else this.query(ctx, slot);
      } else this.resendGap(ctx, slot, gap);
    }
    // Agreements others run on slots we hold (we saw their votes, not the decision) must finish here too.
    for (const [slot, gap] of this.gaps) if (!gap.done && !this.missing.has(slot) && this.slotResends.due(slot, now)) this.resendGap(ctx, slot, gap);
    // Our latest SYNC until it is agreed (it may have been lost), or until it certifies our epoch.
    const lastSync = [...this.mySyncs.values()].reduce<Sync | undefined>((a, b) => (a && a.slot > b.slot ? a : b), undefined);
    if (lastSync && (lastSync.slot > this.syncPoint || this.certifiedEpoch < this.view.epoch) && this.resends.due(`sync/${lastSync.slot}`, now)) {
      ctx.multicast(this.others(), { ...lastSync, resent: true });
    }
    this.announceEpoch(ctx);
    // The new epoch's sequencer may not have been installed yet when the leader first passed them on.
    if (this.isLeader) {
      for (const [key, d] of this.direct) {
        if (this.resends.due(`direct/${key}`, now)) ctx.send(this.p.sequencerNode(this.view.epoch), { type: 'aom-request', group: this.p.group, payload: d.payload });
      }
    }
    this.plead(ctx);
    // The new leader keeps announcing its view start until the view is settled.
    if (this.myViewStart && compareViews(this.myViewStart.view, this.view) === 0 && this.resends.due(`start/${viewKey(this.view)}`, now)) {
      ctx.multicast(this.others(), this.myViewStart);
    }
  }

  /**
   * The first unsettled slots execution waits on: our CONFIRM again, marked as asking for the
   * others' (theirs may have been lost). Later slots wait their turn: pleading for a whole log
   * window on every retry is what swamps a busy replica.
   */
  private plead(ctx: Ctx<NeoMsg>): void {
    for (let slot = this.executed + 1; slot <= this.executed + PLEA_WINDOW; slot++) {
      // A mute replica has no CONFIRM to plead with (candidate()): it asks the leader, who hands
      // over the CONFIRMs it counted. The others' went out once, maybe while it was rejoining.
      if (this.mute) {
        if (this.candidates.has(slot) && !this.log[slot] && this.pleaResends.due(slot, ctx.now)) {
          ctx.multicast(this.others(), { type: 'query', view: this.view, replica: this.p.index, slot });
        }
        continue;
      }
      const c = this.myConfirms.get(slot);
      if (!c || this.log[slot] || !this.pleaResends.due(slot, ctx.now)) continue;
      let plea = this.pleas.get(slot);
      if (!plea) {
        plea = sign<Confirm>({ ...c, need: true }, this.p.keys);
        this.pleas.set(slot, plea);
      }
      ctx.multicast(this.others(), plea);
    }
  }

  /**
   * The new epoch's sequencer numbers nothing until f+1 EPOCH-STARTs reached it, and ours went
   * once: while clients wait (requests sent directly) and the sequencer has ordered nothing in
   * this epoch, ours goes again. Lost, it left the sequencer idle, the replicas gave up on it
   * and moved on to the next epoch.
   */
  private announceEpoch(ctx: Ctx<NeoMsg>): void {
    if (this.view.epoch === 1 || this.direct.size === 0 || this.aom.nextSeq > 1 || !this.resends.due(`epoch/${this.view.epoch}`, ctx.now)) return;
    const start = this.epochStarts.get(this.view.epoch)!;
    const mine = this.mySyncs.get(start);
    if (mine && mine.view.epoch === this.view.epoch && mine.epochStart === start) ctx.send(this.p.sequencerNode(this.view.epoch), mine);
  }

  private sameView(v: View): boolean {
    return v.epoch === this.view.epoch && v.leader === this.view.leader;
  }

  private others(): NodeId[] {
    return this.p.replicas.filter((_, i) => i !== this.p.index);
  }

  private onDelivery(d: AomDelivery): void {
    // Epoch 1's sequencer is ordering: our EPOCH-START reached it.
    this.epochOneStart = null;
    if (d.kind === 'message') this.noteDelivered(d.msg);
    if (this.holding) {
      if (this.held.length < MAX_HELD) this.held.push(d);
      return;
    }
    if (d.kind === 'message') {
      const slot = this.slotOf(d.msg);
      if (this.log[slot] || slot <= this.syncPoint) return;
      if (slot > this.syncPoint + LOG_WINDOW) {
        this.deferred.set(slot, d.msg);
        this.deferredSince ??= this.ctx.now;
        return;
      }
      if (this.p.byzantineNetwork) this.candidate(slot, d.msg);
      else this.fill(slot, d.msg);
      return;
    }
    const slot = this.epochStarts.get(this.view.epoch)! + d.seq;
    if (this.log[slot] || slot <= this.syncPoint) return;
    this.markMissing(slot);
    if (slot > this.syncPoint + LOG_WINDOW) return;
    if (this.isLeader) this.startGap(this.ctx, slot);
    else this.query(this.ctx, slot);
  }

  private markMissing(slot: number): void {
    this.missing.add(slot);
    if (!this.missingSince.has(slot)) this.missingSince.set(slot, this.ctx.now);
  }

  private resolved(slot: number): void {
    this.missing.delete(slot);
    this.missingSince.delete(slot);
  }

  /** A request AOM delivered is no longer a sign of a failed sequencer. */
  private noteDelivered(oc: OrderedMulticast): void {
    const r = this.openRequest(oc.payload);
    if (!r) return;
    const key = `${r.client}/${r.requestId}`;
    if (this.direct.delete(key)) this.resends.forget(`direct/${key}`);
    this.recent.set(key, true);
  }

  private fill(slot: number, oc: OrderedMulticast, confirmed = false): void {
    // Having voted GAP-DROP, we take the slot only from the agreement's decision: executing it
    // (and replying) as well would let a client and a no-op quorum both count us.
    if (this.log[slot] || this.gaps.get(slot)?.votedDrop) return;
    if (this.p.byzantineNetwork && !confirmed && !this.missing.has(slot)) return this.candidate(slot, oc);
    if (this.slotOf(oc) !== slot) {
      this.obs.invalid('certificate-for-another-slot');
      return;
    }
    if (this.missing.has(slot)) {
      const next = this.log[slot + 1]?.oc;
      const linked = next && next.auth.scheme === 'pk' ? next.auth.linked : null;
      const auth = this.p.authFor(oc.header.epoch);
      if (!auth || !verifyRelayedOc(oc, this.p.index, auth, linked)) {
        this.obs.invalid('forged-certificate');
        return;
      }
      if (this.p.byzantineNetwork && !this.confirmedBy(slot, oc)) {
        this.candidate(slot, oc);
        return;
      }
      this.resolved(slot);
    }
    const request = this.openRequest(oc.payload, true);
    this.log[slot] = { oc, request };
    this.unconfirmedSince.delete(slot);
    this.noteDelivered(oc);
    if (this.p.byzantineNetwork) this.log[slot].proof = [...(this.confirms.get(slot)?.get(hex(oc.header.digest))?.values() ?? [])].slice(0, this.quorum);
    this.execute();
  }

  private confirmedBy(slot: number, oc: OrderedMulticast): boolean {
    return (this.confirms.get(slot)?.get(hex(oc.header.digest))?.size ?? 0) >= this.quorum;
  }

  /** Byzantine-network mode: confirm the first version of a slot we see, fill it once 2f+1 agree. */
  private candidate(slot: number, oc: OrderedMulticast): void {
    // No CONFIRM after a GAP-DROP vote (nor a drop vote after a CONFIRM: onGapFind).
    if (this.log[slot] || this.gaps.get(slot)?.votedDrop) return;
    const d = hex(oc.header.digest);
    const byDigest = this.candidates.get(slot) ?? new Map<string, OrderedMulticast>();
    byDigest.set(d, oc);
    this.candidates.set(slot, byDigest);
    if (!this.myConfirms.has(slot) && !this.mute) {
      this.unconfirmedSince.set(slot, this.ctx.now);
      this.ctx.multicast(this.others(), this.signConfirm(slot, oc.header.digest));
    }
    this.settle(slot);
  }

  /** Our CONFIRM of `digest` at `slot` in this view, counted and kept. */
  private signConfirm(slot: number, digest: Uint8Array): Confirm {
    const c = sign<Confirm>({ type: 'confirm', view: this.view, replica: this.p.index, slot, digest, need: false, sig: new Uint8Array(64) }, this.p.keys);
    this.myConfirms.set(slot, c);
    this.count(c);
    return c;
  }

  private count(c: Confirm): void {
    const bySlot = this.confirms.get(c.slot) ?? new Map<string, Map<number, Confirm>>();
    const who = bySlot.get(hex(c.digest)) ?? new Map<number, Confirm>();
    who.set(c.replica, c);
    bySlot.set(hex(c.digest), who);
    this.confirms.set(c.slot, bySlot);
  }

  private onConfirm(ctx: Ctx<NeoMsg>, c: Confirm): void {
    if (!this.p.byzantineNetwork || !this.sameView(c.view) || c.replica >= this.p.replicas.length) {
      this.obs.invalid('bad-confirm');
      return;
    }
    // A CONFIRM counted already (a plea repeats it) adds nothing: its signature goes unchecked,
    // and it can only make us send our own CONFIRM to that replica.
    const counted = this.confirms.get(c.slot)?.get(hex(c.digest))?.get(c.replica);
    const known = counted !== undefined && this.sameView(counted.view);
    if (!known) {
      if (!verifySigned(c, this.p.keys)) {
        this.obs.invalid('bad-confirm');
        return;
      }
      this.count(c);
      this.checkEquivocation(ctx, c.slot);
    }
    // A replica asking for help with a slot gets our confirm again (answers never ask back); a
    // slot we hold from an earlier view (our confirms there do not count in this one) gets a new one.
    if (c.need) this.confirmTo(ctx, c.replica, c.slot);
    if (!known) this.settle(c.slot);
  }

  /** Our CONFIRM of `slot` to a replica that needs it: the one we made, or, for a slot we hold from an earlier view (our confirms there do not count in this one), a new one. */
  private confirmTo(ctx: Ctx<NeoMsg>, replica: number, slot: number): void {
    const held = this.log[slot]?.oc;
    const mine = this.myConfirms.get(slot) ?? (held && !this.mute && this.signConfirm(slot, held.header.digest));
    if (mine) ctx.send(this.p.replicas[replica]!, mine);
  }

  /**
   * A slot of this epoch in two versions, each confirmed by a correct replica, proves the
   * sequencer lied: move to the next epoch at once. Waiting for a timeout let gap agreement turn
   * every split slot into a no-op first, and the stalled window then blamed leader after leader
   * while the lying sequencer kept its epoch (seen on a busy real cluster: no operation executed).
   */
  private checkEquivocation(ctx: Ctx<NeoMsg>, slot: number): void {
    const start = this.epochStarts.get(this.view.epoch);
    if (this.status !== 'normal' || start === undefined || slot <= start || !this.split(slot)) return;
    this.equivocators.add(this.p.sequencerNode(this.view.epoch));
    this.startViewChange(ctx, { epoch: this.nextEpoch(), leader: this.view.leader }, 'sequencer');
  }

  private settle(slot: number): void {
    if (this.log[slot]) return;
    for (const [d, oc] of this.candidates.get(slot) ?? []) {
      if ((this.confirms.get(slot)?.get(d)?.size ?? 0) < this.quorum) continue;
      this.candidates.delete(slot);
      this.resolved(slot);
      this.fill(slot, oc, true);
      return;
    }
  }

  /** Executes every slot in order up to the first one still unknown. */
  private execute(): void {
    for (let slot = this.executed + 1; this.log[slot]; slot++) {
      const s = this.log[slot]!;
      this.hashes[slot] = sha256(Buffer.concat([this.hashes[slot - 1]!, digestOf(s.oc)]));
      this.executed = slot;
      if (s.request) {
        const { result, undo } = this.store.execute(s.request);
        s.undo = undo;
        if (result !== null) this.reply(slot, s.request, encodeResult(result));
      }
      this.obs.executed(slot, s.oc === null);
      const start = this.epochStarts.get(this.view.epoch)!;
      if (slot >= start && (slot % SYNC_INTERVAL === 0 || (slot === start && this.view.epoch > 1))) this.sync(slot);
    }
  }

  private isSyncSlot(m: Sync): boolean {
    return this.epochStarts.get(m.view.epoch) === m.epochStart && m.slot >= m.epochStart
      && (m.slot % SYNC_INTERVAL === 0 || (m.slot === m.epochStart && m.view.epoch > 1));
  }

  /** Every SYNC_INTERVAL slots, tell the others our log hash there. */
  private sync(slot: number): void {
    const epochStart = this.epochStarts.get(this.view.epoch)!;
    const stateDigest = this.stateAt(slot).digest();
    const m = sign<Sync>({
      type: 'sync', view: this.view, replica: this.p.index, slot, logHash: this.hashes[slot]!, stateDigest, epochStart, resent: false, sig: new Uint8Array(64),
    }, this.p.keys);
    this.mySyncs.set(slot, m);
    for (const old of this.mySyncs.keys()) if (old < slot - 2 * SYNC_INTERVAL) this.mySyncs.delete(old);
    this.ctx.multicast(this.others(), m);
    // EPOCH-START also tells the new sequencer that f+1 replicas have installed it.
    if (slot === epochStart) this.ctx.send(this.p.sequencerNode(this.view.epoch), m);
    this.onSync(m);
  }

  /** A SYNC sent again for a point already final here: its sender is still waiting for it (it lost ours), so ours again. */
  private answerSync(m: Sync): void {
    if (!m.resent || m.slot > this.syncPoint || m.view.epoch !== this.view.epoch) return;
    const mine = this.mySyncs.get(m.slot);
    if (mine && m.replica !== this.p.index && m.replica < this.p.replicas.length) this.ctx.send(this.p.replicas[m.replica]!, mine);
  }

  private onSync(m: Sync): void {
    // A log hash does not depend on the leader: SYNCs of any view of our epoch count.
    if (m.view.epoch !== this.view.epoch || !this.isSyncSlot(m)) return;
    // An EPOCH-START may fall on the final point already reached (an epoch that ordered nothing).
    const certifies = m.slot === m.epochStart && m.view.epoch > this.certifiedEpoch;
    if (m.slot <= this.syncPoint && !certifies) return this.answerSync(m);
    // A resend of a SYNC we counted (its sender still waits for ours, which it gets on our retry) adds nothing.
    const counted = this.syncs.get(m.slot)?.get(hex(m.logHash))?.get(m.replica);
    if (counted && counted.view.epoch === m.view.epoch && counted.epochStart === m.epochStart) return;
    if (m.replica !== this.p.index && !verifySigned(m, this.p.keys)) {
      this.obs.invalid('bad-sync');
      return;
    }
    const bySlot = this.syncs.get(m.slot) ?? new Map<string, Map<number, Sync>>();
    const who = bySlot.get(hex(m.logHash)) ?? new Map<number, Sync>();
    who.set(m.replica, m);
    bySlot.set(hex(m.logHash), who);
    this.syncs.set(m.slot, bySlot);
    // Final only where our own log agrees: 2f+1 matching hashes, ours among them.
    const mine = this.hashes[m.slot];
    // 2f+1 others made a point final more than an interval past what we executed: what we lack
    // is compacted at them, so only their state brings us there.
    // A mute replica takes any later final point's state: in Byzantine-network mode it cannot
    // fill a slot it missed (that takes 2f+1 CONFIRMs of this view, and it sends none).
    if (who.size >= this.quorum && (m.slot > this.executed + SYNC_INTERVAL || (this.mute && m.slot > this.executed))) this.stateWanted = Math.max(this.stateWanted, m.slot);
    if (who.size >= this.quorum && mine && hex(mine) !== hex(m.logHash)) return this.contradicted(m.slot);
    if (who.size < this.quorum || !mine || hex(mine) !== hex(m.logHash)) return;
    // (An EPOCH-START is at or past the final point: the epoch started after what was final.)
    this.finalize(m.slot, [...who.values()].slice(0, this.quorum), m.view.epoch);
  }

  /**
   * 2f+1 replicas made `slot` final with a log other than the one we executed speculatively:
   * somewhere past our sync point we hold what they settled otherwise (a message only we
   * received, made a no-op by a gap agreement whose decision we missed and the leader has
   * since compacted). That execution is undone and the slots up to theirs go; their state
   * there replaces them (state transfer).
   */
  private contradicted(slot: number): void {
    this.rollback(this.syncPoint + 1);
    for (let s = this.syncPoint + 1; s <= slot; s++) delete this.log[s];
    this.stateWanted = Math.max(this.stateWanted, slot);
    this.askForState(this.ctx);
  }

  /** `slot` is final (`cert`: 2f+1 matching SYNCs of `epoch`): what waited for it goes on, what only a rollback needed goes. */
  private finalize(slot: number, cert: Sync[], epoch: number): void {
    // Progress in this view: timeouts are back to their base.
    if (slot > this.syncPoint && epoch === this.view.epoch && this.status === 'normal') this.attempts = 0;
    this.syncPoint = slot;
    this.syncCert = cert;
    for (const s of this.syncs.keys()) if (s <= slot) this.syncs.delete(s);
    // Final entries are never rolled back: their undo records can go.
    for (let s = slot; s > 0 && this.log[s]?.undo; s--) delete this.log[s]!.undo;
    this.compact(slot - SYNC_INTERVAL);
    this.obs.synced(slot);
    if (epoch > this.certifiedEpoch) {
      // The epoch certificate (the epoch's first SYNC point, or any later one: 2f+1 logs that
      // match ours past the epoch's start): the new epoch's held messages may go in now.
      this.certifiedEpoch = epoch;
      this.release();
    }
    this.releaseDeferred();
  }

  /** Deliveries that waited past the log window, now that the sync point moved. */
  private releaseDeferred(): void {
    for (const [slot, oc] of this.deferred) {
      if (slot > this.syncPoint + LOG_WINDOW) continue;
      this.deferred.delete(slot);
      if (slot <= this.syncPoint) continue;
      if (this.p.byzantineNetwork) this.candidate(slot, oc);
      else this.fill(slot, oc);
    }
    this.deferredSince = this.deferred.size > 0 ? this.ctx.now : null;
  }

  /**
   * Forgets what a long run no longer needs about slots final for a whole interval: agreement
   * and confirm state, certificates and requests (a replica that far behind catches up by
   * state transfer), and old log hashes.
   */
  private compact(upto: number): void {
    if (upto <= 0) return;
    for (const map of [this.gaps, this.myConfirms, this.pleas, this.confirms, this.candidates, this.missingSince, this.unconfirmedSince] as Map<number, unknown>[]) {
      for (const slot of map.keys()) if (slot <= upto) map.delete(slot);
    }
    for (const b of [this.slotResends, this.pleaResends]) b.forgetWhere((slot) => slot <= upto);
    this.resends.forgetWhere((key) => key.startsWith('sync/') && Number(key.slice(5)) <= upto);
    for (let s = upto; s > 0 && this.log[s]?.oc !== undefined && this.log[s]!.digest === undefined; s--) {
      const slot = this.log[s]!;
      this.log[s] = { oc: null, request: null, digest: slot.digest ?? digestOf(slot.oc) };
      if (s < upto) delete this.hashes[s];
    }
  }

  /** The highest slot 2f+1 replicas (this one included) agreed on: final, never rolled back. */
  get finalSlot(): number {
    return this.syncPoint;
  }

  private reply(slot: number, request: KvRequest, result: Uint8Array): void {
    const reply: Reply = {
      type: 'reply', view: this.view, replica: this.p.index, slot, logHash: this.hashes[slot]!, client: request.client,
      requestId: request.requestId, result, mac: new Uint8Array(32),
    };
    reply.mac = replyMac(reply, this.p.clientKey(request.client));
    this.lastReplies.set(request.client, reply);
    this.ctx.send(this.p.clientNode(request.client), reply);
  }

  /**
   * A reply sent again, in the view we are in now: the client needs 2f+1 replies of one view,
   * and replicas that executed the slot on either side of a view change replied in different
   * ones. Our log still holds the slot with that hash (a rollback would have re-executed it and
   * replaced the reply; a compacted hash is final), so it stands in this view too.
   */
  private restamp(last: Reply): Reply {
    if (this.status !== 'normal' || this.sameView(last.view) || last.slot > this.executed) return last;
    const hash = this.hashes[last.slot];
    if (hash && !equalBytes(hash, last.logHash)) return last;
    const reply: Reply = { ...last, view: this.view, mac: new Uint8Array(32) };
    reply.mac = replyMac(reply, this.p.clientKey(reply.client));
    this.lastReplies.set(reply.client, reply);
    return reply;
  }

  /** Undoes speculative execution back to just before `slot` (never into the final prefix). */
  private rollback(slot: number): void {
    if (slot <= this.syncPoint) throw new Error(`rollback into the final prefix (slot ${slot} ≤ ${this.syncPoint}): replicas disagreed on a synced slot`);
    let n = 0;
    for (let s = this.executed; s >= slot; s--) {
      const u = this.log[s]?.undo;
      if (u) this.store.undo(u);
      this.hashes.length = s;
      n++;
    }
    this.executed = slot - 1;
    this.obs.rolledBack(n);
  }

  private query(ctx: Ctx<NeoMsg>, slot: number): void {
    ctx.send(this.leaderNode, { type: 'query', view: this.view, replica: this.p.index, slot });
  }

  private onQuery(ctx: Ctx<NeoMsg>, replica: number, slot: number, view: View): void {
    if (!this.sameView(view) || replica >= this.p.replicas.length) return;
    // (Only a mute replica asks the others too: they answer with their CONFIRM.)
    if (!this.isLeader) return this.confirmTo(ctx, replica, slot);
    const g = this.gaps.get(slot);
    // An agreement of an earlier view no longer counts here: the message itself is sent instead.
    if (g?.done && g.decision && this.sameView(g.decision.view)) return this.catchUp(ctx, replica, g);
    // In Byzantine-network mode the leader may hold the slot only as the candidate it confirmed:
    // the asker's confirm may be the one still missing, so hand it over.
    const mine = this.myConfirms.get(slot);
    const oc = this.log[slot]?.oc ?? (mine ? this.candidates.get(slot)?.get(hex(mine.digest)) : undefined);
    if (!oc) return;
    ctx.send(this.p.replicas[replica]!, { type: 'query-reply', view: this.view, slot, oc });
    if (this.p.byzantineNetwork) this.confirmTo(ctx, replica, slot);
  }

  /** A replica still working on a slot we settled gets the decision and our commit (which it may have lost). */
  private catchUp(ctx: Ctx<NeoMsg>, replica: number, g: Gap): void {
    const to = this.p.replicas[replica]!;
    if (g.decision) ctx.send(to, g.decision);
    const mine = g.commits.get(this.p.index);
    if (mine) ctx.send(to, mine);
  }

  private gap(slot: number): Gap {
    let g = this.gaps.get(slot);
    if (!g) {
      g = { finds: new Map(), decision: null, prepares: new Map(), commits: new Map(), votedDrop: false, done: false };
      this.gaps.set(slot, g);
    }
    return g;
  }

  private startGap(ctx: Ctx<NeoMsg>, slot: number): void {
    const g = this.gap(slot);
    // A mute leader cannot vote drop, but it still asks: a replica holding the slot answers with
    // it (GAP-RECV), or 2f+1 others' GAP-DROPs decide a no-op without its vote. Leaving the slot
    // open instead stalled the testbed: its log never reached the next SYNC point, so it stayed
    // mute, and with a silent replica besides no SYNC quorum formed.
    if (!this.mute) {
      const drop = sign({ type: 'gap-drop', view: this.view, replica: this.p.index, slot, sig: new Uint8Array(64) }, this.p.keys);
      g.finds.set(this.p.index, drop);
      g.votedDrop = true;
    }
    ctx.multicast(this.others(), sign({ type: 'gap-find', view: this.view, replica: this.p.index, slot, sig: new Uint8Array(64) }, this.p.keys));
  }

  private resendGap(ctx: Ctx<NeoMsg>, slot: number, g: Gap): void {
    if (!g.decision) {
      // The leader keeps looking; anyone else asks it (a settled leader answers with its decision).
      if (this.isLeader) {
        ctx.multicast(this.others(), sign({ type: 'gap-find', view: this.view, replica: this.p.index, slot, sig: new Uint8Array(64) }, this.p.keys));
      } else this.query(ctx, slot);
      return;
    }
    if (this.isLeader) ctx.multicast(this.others(), g.decision);
    // Our prepare also tells replicas that already settled the slot to send us their commits.
    for (const vote of [g.prepares.get(this.p.index), g.commits.get(this.p.index)]) if (vote) ctx.multicast(this.others(), vote);
  }

  private onGapFind(ctx: Ctx<NeoMsg>, m: { view: View; replica: number; slot: number } & Parameters<typeof verifySigned>[0]): void {
    if (!this.sameView(m.view)) return this.otherView();
    if (m.replica !== leaderOf(this.view, this.p.replicas.length) || !verifySigned(m, this.p.keys)) {
      this.obs.invalid('bad-gap-find');
      return;
    }
    const leader = this.leaderNode;
    // A candidate we confirmed counts as received: we must not vote to drop what we confirmed.
    const confirmed = this.myConfirms.get(m.slot);
    const oc = this.log[m.slot]?.oc ?? (confirmed ? this.candidates.get(m.slot)?.get(hex(confirmed.digest)) : undefined);
    if (oc && !this.gaps.get(m.slot)?.votedDrop) {
      ctx.send(leader, { type: 'gap-recv', view: this.view, replica: this.p.index, slot: m.slot, oc });
      return;
    }
    if (!this.mute && (this.log[m.slot] === undefined || this.missing.has(m.slot))) {
      // We missed it too: vote drop, and from now on ignore query replies for it.
      this.markMissing(m.slot);
      const g = this.gap(m.slot);
      g.votedDrop = true;
      ctx.send(leader, sign({ type: 'gap-drop', view: this.view, replica: this.p.index, slot: m.slot, sig: new Uint8Array(64) }, this.p.keys));
    }
  }

  /**
   * A gap-agreement message of another view: not a forgery — its sender is a view ahead of or
   * behind us (replicas leave a view one at a time, more so on a slow testbed). Counted apart
   * (`other-view`); the view change brings the two together (a replica behind hears the new
   * leader's VIEW-START, which it keeps announcing).
   */
  private otherView(): void {
    this.obs.invalid('other-view');
  }

  private onGapReport(ctx: Ctx<NeoMsg>, m: NeoMsg & { type: 'gap-recv' | 'gap-drop' }): void {
    if (!this.isLeader || !this.sameView(m.view)) return;
    const g = this.gaps.get(m.slot);
    if (!g || g.decision) return;
    let decision: GapDecision | null = null;
    if (m.type === 'gap-recv') {
      if (this.slotOf(m.oc) !== m.slot || !this.verifyRelayed(m.oc, m.slot)) {
        this.obs.invalid('forged-certificate');
        return;
      }
      decision = { type: 'gap-decision', view: this.view, replica: this.p.index, slot: m.slot, recv: m.oc, drops: [], sig: new Uint8Array(64) };
    } else {
      if (!verifySigned(m, this.p.keys)) {
        this.obs.invalid('bad-gap-drop');
        return;
      }
      g.finds.set(m.replica, m);
      if (g.finds.size >= this.quorum) {
        decision = { type: 'gap-decision', view: this.view, replica: this.p.index, slot: m.slot, recv: null, drops: [...g.finds.values()].slice(0, this.quorum), sig: new Uint8Array(64) };
      }
    }
    if (!decision) return;
    g.decision = sign(decision, this.p.keys);
    ctx.multicast(this.others(), g.decision);
    this.prepare(ctx, m.slot, g);
  }

  /** Whether a relayed certificate is authentic, under its epoch's keys (PK: linked by the next slot's message). */
  private verifyRelayed(oc: OrderedMulticast, slot: number): boolean {
    const auth = this.p.authFor(oc.header.epoch);
    const next = this.log[slot + 1]?.oc;
    const linked = next && next.auth.scheme === 'pk' && next.header.epoch === oc.header.epoch ? next.auth.linked : null;
    return !!auth && verifyRelayedOc(oc, this.p.index, auth, linked);
  }

  private validDecision(d: GapDecision): boolean {
    if (!this.sameView(d.view) || d.replica !== leaderOf(this.view, this.p.replicas.length) || !verifySigned(d, this.p.keys)) return false;
    if (d.recv) {
      if (this.slotOf(d.recv) !== d.slot) return false;
      // Authentic if it checks out as relayed, or is what we hold ourselves (in the log, or a
      // candidate AOM delivered to us that our drop vote kept out of it).
      return this.verifyRelayed(d.recv, d.slot) || !!(this.log[d.slot]?.oc && equalBytes(this.log[d.slot]!.oc!.header.digest, d.recv.header.digest))
        || !!this.candidates.get(d.slot)?.has(hex(d.recv.header.digest));
    }
    const signers = new Set(d.drops.filter((x) => x.slot === d.slot && this.sameView(x.view) && verifySigned(x, this.p.keys)).map((x) => x.replica));
    return signers.size >= this.quorum;
  }

  private onDecision(ctx: Ctx<NeoMsg>, d: GapDecision): void {
    const g = this.gap(d.slot);
    if (g.decision) return;
    if (g.done) return;
    if (!this.sameView(d.view)) return this.otherView();
    if (!this.validDecision(d)) {
      this.obs.invalid('bad-gap-decision');
      return;
    }
    // Byzantine-network mode: an equivocating sequencer may have sent another version of the
    // slot; we never prepare one other than the version we confirmed or hold, so a version
    // 2f+1 confirmed (f+1 correct replicas among them) cannot be overruled. (A drop decision's
    // 2f+1 signed GAP-DROPs already prove that no version was filled anywhere.)
    const ours = this.myConfirms.get(d.slot)?.digest ?? this.log[d.slot]?.oc?.header.digest;
    if (this.p.byzantineNetwork && d.recv && ours && !equalBytes(ours, d.recv.header.digest)) {
      this.obs.invalid('gap-decision-contradicts-confirm');
      return;
    }
    g.decision = d;
    this.markMissing(d.slot);
    this.prepare(ctx, d.slot, g);
  }

  private prepare(ctx: Ctx<NeoMsg>, slot: number, g: Gap): void {
    const vote = sign({ type: 'gap-prepare', view: this.view, replica: this.p.index, slot, digest: digestOf(g.decision!.recv), sig: new Uint8Array(64) }, this.p.keys);
    g.prepares.set(this.p.index, vote);
    ctx.multicast(this.others(), vote);
    this.progressGap(ctx, slot, g);
  }

  private onVote(ctx: Ctx<NeoMsg>, v: GapVote): void {
    if (!this.sameView(v.view)) return this.otherView();
    // A vote we hold already (resent by its sender) is not checked again.
    const stored = this.gaps.get(v.slot)?.[v.type === 'gap-prepare' ? 'prepares' : 'commits'].get(v.replica);
    const known = stored !== undefined && this.sameView(stored.view) && equalBytes(stored.digest, v.digest);
    if (!known && (v.replica >= this.p.replicas.length || !verifySigned(v, this.p.keys))) {
      this.obs.invalid('bad-gap-vote');
      return;
    }
    const g = this.gap(v.slot);
    if (g.done) {
      // Its prepare says it is still working on the slot; answering commits would echo forever.
      if (v.type === 'gap-prepare' && v.replica !== this.p.index) this.catchUp(ctx, v.replica, g);
      return;
    }
    (v.type === 'gap-prepare' ? g.prepares : g.commits).set(v.replica, v);
    // Others are voting on a slot we never saw the decision for (we may hold its message and
    // have missed the whole agreement): ask the leader, which answers with its decision.
    if (!g.decision && !this.isLeader) this.query(ctx, v.slot);
    this.progressGap(ctx, v.slot, g);
  }

  private matching(votes: Map<number, GapVote>, digest: Uint8Array): number {
    let n = 0;
    for (const v of votes.values()) if (equalBytes(v.digest, digest)) n++;
    return n;
  }

  private progressGap(ctx: Ctx<NeoMsg>, slot: number, g: Gap): void {
    if (!g.decision || g.done) return;
    const digest = digestOf(g.decision.recv);
    if (!g.commits.has(this.p.index) && this.matching(g.prepares, digest) >= this.quorum) {
      const commit = sign({ type: 'gap-commit', view: this.view, replica: this.p.index, slot, digest, sig: new Uint8Array(64) }, this.p.keys);
      g.commits.set(this.p.index, commit);
      ctx.multicast(this.others(), commit);
    }
    if (this.matching(g.commits, digest) < this.quorum) return;
    // 2f+1 commits: the gap certificate. Keep the message, or make the slot a no-op.
    g.done = true;
    this.resolved(slot);
    const held = this.log[slot];
    if (g.decision.recv) {
      if (!held) this.log[slot] = { oc: g.decision.recv, request: this.openRequest(g.decision.recv.payload) };
    } else if (held?.oc || !held) {
      if (held && slot <= this.executed) this.rollback(slot);
      const commits = [...g.commits.values()].filter((v) => equalBytes(v.digest, NOOP_DIGEST)).slice(0, this.quorum);
      this.log[slot] = { oc: null, request: null, proof: commits };
    }
    this.obs.gapAgreement(slot, g.decision.recv ? 'message' : 'no-op');
    this.execute();
  }

  // ——— View change ———

  /** A request a client sent directly: the leader passes it to the sequencer; everyone waits for AOM to deliver it. */
  private onDirect(ctx: Ctx<NeoMsg>, payload: Uint8Array): void {
    const r = this.openRequest(payload, true);
    if (!r) return;
    if (this.store.answered(r.client, r.requestId)) {
      // Executed, and the client still asks: our reply was lost (or came from an old view).
      const last = this.lastReplies.get(r.client);
      if (last?.requestId === r.requestId) ctx.send(this.p.clientNode(r.client), this.restamp(last));
      this.noteUnserved(ctx, r.client, r.requestId);
      return;
    }
    // (A request ordered but dropped by an epoch change, or made a no-op by gap agreement, needs this too.)
    if (this.isLeader && this.status === 'normal') ctx.send(this.p.sequencerNode(this.view.epoch), { type: 'aom-request', group: this.p.group, payload });
    const key = `${r.client}/${r.requestId}`;
    if (!this.recent.has(key) && !this.direct.has(key) && this.direct.size < MAX_HELD) this.direct.set(key, { since: ctx.now, payload, client: r.client, requestId: r.requestId });
  }

  /**
   * A client still asking, a whole timeout later, for a request we answered has not found 2f+1
   * matching replies: a correct replica is missing from this view (late and alone in a view
   * change nobody else saw a reason for, say) while a Byzantine one answers wrongly. Only a new
   * view brings it back, as PBFT's clients' retransmissions start view changes.
   */
  private noteUnserved(ctx: Ctx<NeoMsg>, client: number, requestId: number): void {
    // A mute replica sends no VIEW-CHANGE (startViewChange): it would wait alone in the view change.
    if (this.status !== 'normal' || this.mute) return;
    const first = this.unserved.get(client);
    if (first?.requestId !== requestId) {
      this.unserved.set(client, { requestId, since: ctx.now });
      return;
    }
    if (ctx.now - first.since < this.timeoutUs) return;
    this.unserved.clear();
    this.startViewChange(ctx, { epoch: this.view.epoch, leader: this.view.leader + 1 }, 'leader');
  }

  /**
   * A new view: requests clients sent directly that are still unanswered get a whole timeout in
   * it, and its leader passes them on to the view's sequencer (the client may still be sending
   * to the old one, and may wait long before it retries).
   */
  private renewDirect(ctx: Ctx<NeoMsg>): void {
    for (const [key, d] of this.direct) {
      if (this.store.answered(d.client, d.requestId)) {
        this.direct.delete(key);
        continue;
      }
      d.since = ctx.now;
      if (this.isLeader) ctx.send(this.p.sequencerNode(this.view.epoch), { type: 'aom-request', group: this.p.group, payload: d.payload });
    }
  }

  /** The suspicion and view-change timeout, doubled per view change without progress (at most 64×). */
  private get timeoutUs(): number {
    return this.p.viewChangeUs * 2 ** Math.min(Math.max(this.attempts - 1, 0), 6);
  }

  /** Starts a view change when the leader or the sequencer stopped making progress; true if it did. */
  private suspect(ctx: Ctx<NeoMsg>): boolean {
    // A mute replica's suspicion counts for nothing (it sends no VIEW-CHANGE): it follows the others.
    if (this.mute) return false;
    const limit = ctx.now - this.timeoutUs;
    // Slots a correct replica made final already are late here, not lost by the leader or the
    // sequencer: blaming them would start a view change the others never join (they see no
    // fault), and this replica would wait in it for good. It catches up instead.
    const finalElsewhere = this.finalElsewhere();
    for (const [slot, since] of this.missingSince) {
      if (since > limit || slot > this.syncPoint + LOG_WINDOW || slot <= finalElsewhere) continue;
      this.startViewChange(ctx, { epoch: this.view.epoch, leader: this.view.leader + 1 }, 'leader');
      return true;
    }
    // A full log window whose sync point does not move, or an epoch whose certificate does not
    // form: the SYNC quorum is not forming (a replica is stuck behind, or alone in a view change
    // the others never joined); a new view's merge brings everyone to the same log.
    const windowStuck = this.deferredSince !== null && this.deferredSince <= limit && finalElsewhere <= this.syncPoint;
    if (windowStuck || (this.certifiedEpoch < this.view.epoch && this.viewStartedAt <= limit)) {
      if (windowStuck) this.deferredSince = ctx.now;
      this.viewStartedAt = ctx.now;
      this.startViewChange(ctx, { epoch: this.view.epoch, leader: this.view.leader + 1 }, 'leader');
      return true;
    }
    // Until the epoch is certified its messages wait here: that is not the sequencer's fault.
    if (this.certifiedEpoch < this.view.epoch) return false;
    // Byzantine-network mode: a slot 2f+1 replicas never confirmed alike (an equivocating
    // sequencer splits them) is the sequencer's doing.
    for (const [slot, since] of this.unconfirmedSince) {
      // Settled another way since (gap agreement, a view's merged log): not waiting any more.
      if (this.log[slot]) {
        this.unconfirmedSince.delete(slot);
        continue;
      }
      if (since > limit || slot <= finalElsewhere) continue;
      if (this.split(slot)) this.equivocators.add(this.p.sequencerNode(this.view.epoch));
      this.startViewChange(ctx, { epoch: this.nextEpoch(), leader: this.view.leader }, 'sequencer');
      return true;
    }
    for (const { since } of this.direct.values()) {
      if (since > limit || finalElsewhere > this.executed) continue;
      this.startViewChange(ctx, { epoch: this.nextEpoch(), leader: this.view.leader }, 'sequencer');
      return true;
    }
    return false;
  }

  /** The highest slot past our sync point that f+1 other replicas (a correct one among them) sent SYNCs for in this epoch; 0 if none. */
  private finalElsewhere(): number {
    let best = 0;
    for (const [slot, byHash] of this.syncs) {
      if (slot <= best) continue;
      const who = new Set<number>();
      for (const bySender of byHash.values()) for (const r of bySender.keys()) if (r !== this.p.index) who.add(r);
      if (who.size >= this.p.f + 1) best = slot;
    }
    return best;
  }

  /**
   * Whether two versions of `slot` each have a correct replica's CONFIRM in this view: ours, or
   * f+1 (confirms of earlier views stay counted, and a slot an epoch change re-opened holds
   * another epoch's message).
   */
  private split(slot: number): boolean {
    // Called on every CONFIRM: a slot with one digest (the normal case) costs a map lookup.
    const byDigest = this.confirms.get(slot);
    if (!byDigest || byDigest.size < 2) return false;
    const mine = this.myConfirms.get(slot);
    const versions = [...byDigest].filter(([digest, who]) =>
      [...who.values()].filter((c) => this.sameView(c.view)).length >= this.p.f + 1 || (mine !== undefined && hex(mine.digest) === digest));
    return versions.length >= 2;
  }

  /**
   * The epoch a sequencer change moves to: the next one whose sequencer was not seen
   * equivocating (re-choosing a lying sequencer only buys another detection timeout), or simply
   * the next if every sequencer was. Replicas that differ on it converge on the highest view
   * asked for, as in any split view change; epoch numbers carry no meaning beyond their order.
   */
  private nextEpoch(): number {
    const e = this.view.epoch;
    for (let next = e + 1; next <= e + MAX_EPOCH_SKIP; next++) if (!this.equivocators.has(this.p.sequencerNode(next))) return next;
    return e + 1;
  }

  private startViewChange(ctx: Ctx<NeoMsg>, target: View, reason: 'leader' | 'sequencer' | 'timeout' | 'joined'): void {
    if (compareViews(target, this.status === 'view-change' ? this.target : this.view) <= 0) return;
    if (!this.p.authFor(target.epoch)) {
      if (this.keysExhausted < target.epoch) this.obs.invalid('no-keys-for-next-epoch');
      this.keysExhausted = target.epoch;
      this.direct.clear();
      return;
    }
    this.status = 'view-change';
    this.target = target;
    this.myViewStart = null;
    this.pendingStart = null;
    // A mute replica follows the view change without a VIEW-CHANGE of its own: its log may lack what it accepted before its restart.
    const vc = this.mute ? null : sign(this.buildViewChange(target), this.p.keys);
    this.myViewChange = vc;
    if (vc) ctx.multicast(this.others(), vc);
    this.obs.viewChanged(target, reason);
    this.attempts++;
    ctx.setTimer('view-change', this.timeoutUs);
    if (vc) this.onViewChange(ctx, vc);
  }

  private onViewChangeTimeout(ctx: Ctx<NeoMsg>): void {
    if (this.status !== 'view-change') return;
    // Move past the new leader only once a quorum wanted its view and it still did not start
    // it (as in PBFT): a replica that suspected alone waits for the others instead of racing ahead.
    if ((this.viewChanges.get(viewKey(this.target))?.size ?? 0) < this.quorum) {
      // Correct replicas can split (one gave up on the leader, another on the sequencer, at
      // once) so that no view gathers a quorum alone: then join the smallest view above ours
      // that another replica asked for. Views only go up, so the split ends.
      const above = [...this.viewChanges.values()].flatMap((m) => [...m.values()]).map((x) => x.msg.view)
        .filter((v) => compareViews(v, this.target) > 0).sort(compareViews)[0];
      if (above) return this.startViewChange(ctx, above, 'joined');
      ctx.setTimer('view-change', this.timeoutUs);
      return;
    }
    this.startViewChange(ctx, { epoch: this.target.epoch, leader: this.target.leader + 1 }, 'timeout');
  }

  private resendViewChange(ctx: Ctx<NeoMsg>): void {
    if (!this.resends.due(`change/${viewKey(this.target)}`, ctx.now)) return;
    if (this.myViewChange) ctx.multicast(this.others(), this.myViewChange);
    const vs = this.pendingStart;
    if (vs) {
      for (const ref of vs.refs) {
        if (!this.viewChanges.get(viewKey(vs.view))?.get(ref.replica)) {
          ctx.send(this.p.replicas[vs.replica]!, { type: 'view-change-fetch', view: vs.view, replica: this.p.index, of: ref.replica });
        }
      }
    }
  }

  /** Our log as a VIEW-CHANGE carries it: the certified interval, then each entry with its proof. */
  private buildViewChange(target: View): ViewChange {
    const entries: LogEntry[] = [];
    let first = this.syncPoint;
    while (first > 0 && this.syncPoint - first < SYNC_INTERVAL && this.log[first]?.digest === undefined && this.log[first] && this.hashes[first - 1]) first--;
    if (first < this.syncPoint && !this.log[first + 1]) first = this.syncPoint;
    for (let slot = first + 1; slot <= this.syncPoint; slot++) {
      const e = this.log[slot]!;
      entries.push(e.oc ? { kind: 'message', slot, oc: e.oc, confirms: [] } : { kind: 'no-op', slot, commits: [] });
    }
    const top = Math.min(this.log.length - 1, this.syncPoint + LOG_WINDOW);
    for (let slot = this.syncPoint + 1; slot <= top; slot++) {
      const e = this.log[slot];
      if (!e) continue;
      if (e.oc) entries.push({ kind: 'message', slot, oc: e.oc, confirms: this.p.byzantineNetwork ? (e.proof as Confirm[]) ?? [] : [] });
      else if (e.proof) entries.push({ kind: 'no-op', slot, commits: e.proof as GapVote[] });
    }
    const vc: ViewChange = {
      type: 'view-change', view: target, replica: this.p.index, cert: this.syncCert, base: this.hashes[first] ?? new Uint8Array(32),
      entries, tailSign: this.lastSign, sig: new Uint8Array(64),
    };
    // Leave out entries others could not verify (a PK message whose proof we no longer hold):
    // checked the same way others will check them.
    const env = this.checkEnv();
    for (let i = entries.length - 1; i >= 0 && entries[i]!.slot > this.syncPoint; i--) {
      if (checkEntry(vc, i, this.finalPoint(), env)) entries.splice(i, 1);
    }
    if (!this.lastSign || entries.at(-1)?.kind !== 'message') vc.tailSign = null;
    return vc;
  }

  private finalPoint(): FinalPoint {
    const c = this.syncCert[0];
    return c ? { slot: c.slot, hash: c.logHash, epoch: c.view.epoch, epochStart: c.epochStart } : GENESIS;
  }

  private checkEnv(): CheckEnv {
    return { n: this.p.replicas.length, f: this.p.f, index: this.p.index, keys: this.p.keys, authFor: this.p.authFor, byzantineNetwork: this.p.byzantineNetwork };
  }

  private onViewChange(ctx: Ctx<NeoMsg>, vc: ViewChange): void {
    if (vc.replica >= this.p.replicas.length) return this.obs.invalid('bad-view-change');
    if (compareViews(vc.view, this.view) <= 0) {
      // A replica still changing to the view we are in missed its start: send it again.
      if (this.status === 'normal' && compareViews(vc.view, this.view) === 0 && this.myViewStart) ctx.send(this.p.replicas[vc.replica]!, this.myViewStart);
      return;
    }
    const key = viewKey(vc.view);
    const byReplica = this.viewChanges.get(key) ?? new Map();
    if (byReplica.has(vc.replica)) return;
    const digest = hex(sha256(signedBody(vc)));
    const checked = checkViewChange(vc, this.checkEnv());
    if (typeof checked === 'string') {
      this.obs.invalid('bad-view-change');
      return;
    }
    byReplica.set(vc.replica, { msg: vc, digest, checked });
    this.viewChanges.set(key, byReplica);
    if (this.pendingStart && compareViews(this.pendingStart.view, vc.view) === 0) return this.onViewStart(ctx, this.pendingStart);
    // f+1 replicas moving past our view include a correct one: join the smallest such view.
    const current = this.status === 'view-change' ? this.target : this.view;
    const ahead = [...this.viewChanges.values()].flatMap((m) => [...m.values()]).filter((x) => compareViews(x.msg.view, current) > 0 && x.msg.replica !== this.p.index);
    const senders = new Set(ahead.map((x) => x.msg.replica));
    if (senders.size >= this.p.f + 1) {
      const smallest = ahead.map((x) => x.msg.view).sort(compareViews)[0]!;
      this.startViewChange(ctx, smallest, 'joined');
      return;
    }
    this.maybeStartView(ctx, vc.view);
  }

  /** As the new leader, with 2f+1 valid VIEW-CHANGEs (ours among them), announce the view. */
  private maybeStartView(ctx: Ctx<NeoMsg>, view: View): void {
    if (this.status !== 'view-change' || compareViews(view, this.target) !== 0 || leaderOf(view, this.p.replicas.length) !== this.p.index) return;
    const vcs = this.viewChanges.get(viewKey(view));
    if (!vcs || !vcs.has(this.p.index) || vcs.size < this.quorum) return;
    const chosen = [...vcs.values()].sort((a, b) => a.msg.replica - b.msg.replica).slice(0, this.quorum);
    const vs = sign<ViewStart>({
      type: 'view-start', view, replica: this.p.index,
      refs: chosen.map((x) => ({ replica: x.msg.replica, digest: Uint8Array.from(Buffer.from(x.digest, 'hex')) })), sig: new Uint8Array(64),
    }, this.p.keys);
    ctx.multicast(this.others(), vs);
    this.onViewStart(ctx, vs);
  }

  private onViewStart(ctx: Ctx<NeoMsg>, vs: ViewStart): void {
    // Any view newer than ours will do, even one below the view we asked for: the quorum that
    // started it did without our log, and we have promised nothing about it.
    if (compareViews(vs.view, this.view) <= 0) return;
    if (vs.replica !== leaderOf(vs.view, this.p.replicas.length) || !verifySigned(vs, this.p.keys) || new Set(vs.refs.map((r) => r.replica)).size < this.quorum) {
      this.obs.invalid('bad-view-start');
      return;
    }
    const have = this.viewChanges.get(viewKey(vs.view));
    const chosen: CheckedViewChange[] = [];
    for (const ref of vs.refs) {
      const x = have?.get(ref.replica);
      if (!x) {
        // Missing one: wait for it (asked from the new leader on every retry).
        if (this.status === 'normal') this.startViewChange(ctx, vs.view, 'joined');
        this.pendingStart = vs;
        return;
      }
      if (x.digest !== hex(ref.digest)) {
        this.obs.invalid('bad-view-start');
        return;
      }
      chosen.push(x.checked!);
    }
    this.pendingStart = null;
    if (vs.replica === this.p.index) this.myViewStart = vs;
    this.enterView(ctx, vs.view, mergeViewChanges(chosen));
  }

  private onFetch(ctx: Ctx<NeoMsg>, m: ViewChangeFetch): void {
    const x = this.viewChanges.get(viewKey(m.view))?.get(m.of);
    if (x && m.replica < this.p.replicas.length) ctx.send(this.p.replicas[m.replica]!, x.msg);
  }

  /** Adopts the merged log and starts the view (and, with a new epoch, the next sequencer's numbering). */
  private enterView(ctx: Ctx<NeoMsg>, view: View, merged: MergedLog): void {
    const newEpoch = view.epoch > this.view.epoch;
    // Open agreements belong to the old leader; the new one starts its own.
    for (const [slot, g] of this.gaps) if (!g.done) this.gaps.delete(slot);
    // Within the epoch, what AOM delivered past the merged log is still the sequencer's word but
    // is never delivered again: confirmed anew in the new view (CONFIRMs name their view), the
    // version we confirmed before. Dropped, a slot stayed empty at every replica for good.
    const reconfirm = newEpoch ? [] : [...this.myConfirms].flatMap(([slot, c]) => {
      const oc = this.candidates.get(slot)?.get(hex(c.digest));
      return slot > merged.last && oc && !this.log[slot] ? [[slot, oc] as const] : [];
    });
    this.candidates.clear();
    this.myConfirms.clear();
    this.unconfirmedSince.clear();
    this.pleas.clear();
    for (const b of [this.slotResends, this.pleaResends, this.resends]) b.clear();
    // SYNCs of the epoch stay good across its views, and ours at final points answer replicas
    // still waiting for one (those past the final point are made again below, after any rollback).
    if (newEpoch) this.syncs.clear();
    for (const slot of this.mySyncs.keys()) if (newEpoch || slot > this.syncPoint) this.mySyncs.delete(slot);
    // The final interval, for a replica behind it.
    for (const [slot, oc] of merged.finalEntries) {
      if (slot <= this.executed || this.log[slot]) continue;
      this.log[slot] = { oc, request: oc ? this.openRequest(oc.payload) : null };
      this.resolved(slot);
    }
    // Decide first, change the log after the rollback: undoing reads the undo records of the very
    // entries the merged log replaces or drops.
    let rollbackFrom = Infinity;
    const changes: [number, Slot | null][] = [];
    for (let slot = merged.final.slot + 1; slot <= merged.last; slot++) {
      const e = merged.entries.get(slot);
      const mine = this.log[slot];
      if (!e) {
        // Nobody in the quorum holds it: it stays open for gap agreement in the new view
        // (a message of another epoch than the merged one is dropped from our log).
        if (mine?.oc && mine.oc.header.epoch === merged.final.epoch) continue;
        if (mine) rollbackFrom = Math.min(rollbackFrom, slot);
        changes.push([slot, null]);
        continue;
      }
      const digest = e.kind === 'message' ? e.oc.header.digest : NOOP_DIGEST;
      if (mine && equalBytes(digestOf(mine.oc), digest)) continue;
      if (mine) rollbackFrom = Math.min(rollbackFrom, slot);
      changes.push([slot, e.kind === 'message'
        ? { oc: e.oc, request: this.openRequest(e.oc.payload), proof: e.confirms }
        : { oc: null, request: null, proof: e.commits }]);
    }
    // Our entries past the merged log: kept within the epoch, dropped when the epoch changes.
    if (newEpoch) for (let slot = merged.last + 1; slot < this.log.length; slot++) if (this.log[slot]) rollbackFrom = Math.min(rollbackFrom, slot);
    if (rollbackFrom <= this.executed) {
      if (rollbackFrom <= this.syncPoint) this.obs.invalid('view-change-below-sync-point');
      else this.rollback(rollbackFrom);
    }
    for (const [slot, entry] of changes) {
      if (entry) {
        this.log[slot] = entry;
        this.resolved(slot);
      } else {
        delete this.log[slot];
        this.markMissing(slot);
        // An agreement this replica finished in an earlier view does not hold the slot any more:
        // kept, it would block the new view's agreement on it (a done record answers nothing)
        // and resend that view's decision and votes on every retry.
        this.gaps.delete(slot);
      }
    }
    if (newEpoch) {
      this.log.length = Math.min(this.log.length, merged.last + 1);
      for (const slot of [...this.missing]) if (slot > merged.last) this.resolved(slot);
      this.deferred.clear();
    }
    this.view = view;
    this.status = 'normal';
    this.myViewChange = null;
    ctx.cancelTimer('view-change');
    for (const k of [...this.viewChanges.keys()]) {
      const [e, l] = k.split('/').map(Number) as [number, number];
      // This view's own stay: a replica that missed some of them fetches them from us.
      if (compareViews({ epoch: e, leader: l }, view) < 0) this.viewChanges.delete(k);
    }
    if (newEpoch) {
      // An epoch already under way (certified in the merged log: this replica restarted, or
      // was left behind) started where its certificate says, and its sequencer's numbers up to
      // the merged log are settled; taking the merged log's end as the start shifted every slot.
      const underWay = merged.final.epoch === view.epoch;
      const start = underWay ? merged.final.epochStart : merged.last;
      this.epochStarts.set(view.epoch, start);
      this.aomEpoch = view.epoch;
      this.lastSign = null;
      this.recent.clear();
      this.held = [];
      this.aom.setEpoch(ctx, view.epoch, this.p.authFor(view.epoch)!);
      if (underWay) this.aom.skipTo(ctx, merged.last - start);
    }
    // The new leader gets a whole timeout before anyone suspects it.
    for (const slot of this.missingSince.keys()) this.missingSince.set(slot, ctx.now);
    this.deferredSince = this.deferred.size > 0 ? ctx.now : null;
    this.viewStartedAt = ctx.now;
    this.unserved.clear();
    this.obs.viewStarted(view);
    const before = this.executed;
    this.execute();
    this.renewDirect(ctx);
    // A hole below the merged final point is never settled by gap agreement: take the state.
    if (this.executed < merged.final.slot) this.stateWanted = Math.max(this.stateWanted, merged.final.slot);
    // Our latest SYNC may have died with the old view: say it again in the new one.
    const start = this.epochStarts.get(this.view.epoch)!;
    // (A new epoch's start is said even on the final point: it is the epoch's certificate.)
    const floor = newEpoch ? start - 1 : Math.max(this.syncPoint, start - 1);
    for (let slot = Math.min(before, this.executed); slot > floor; slot--) {
      if (slot % SYNC_INTERVAL === 0 || (slot === start && this.view.epoch > 1)) {
        this.sync(slot);
        break;
      }
    }
    if (!newEpoch) this.release();
    for (const [slot, oc] of reconfirm) if (!this.log[slot] && slot <= this.syncPoint + LOG_WINDOW) this.candidate(slot, oc);
    // The new leader settles what is open; the others ask it.
    for (const slot of this.missing) {
      if (slot > this.syncPoint + LOG_WINDOW) continue;
      if (this.isLeader) this.startGap(ctx, slot);
      else this.query(ctx, slot);
    }
  }

  // ——— State transfer ———

  /** The state after `slot` (≥ the sync point, ≤ executed): the live store, or a copy with later slots undone. */
  private stateAt(slot: number): KvStore {
    if (slot === this.executed) return this.store;
    const copy = this.store.clone();
    for (let s = this.executed; s > slot; s--) {
      const u = this.log[s]?.undo;
      if (u) copy.undo(u);
    }
    return copy;
  }

  private askForState(ctx: Ctx<NeoMsg>): void {
    if (this.stateWanted <= this.executed || ctx.now - this.stateAskedAt < 4 * this.p.retryUs) return;
    this.stateAskedAt = ctx.now;
    ctx.multicast(this.others(), { type: 'state-request', replica: this.p.index, executed: this.executed });
  }

  /** Our state at our sync point, with the SYNC certificate that names its digest. */
  private onStateRequest(ctx: Ctx<NeoMsg>, replica: number, executed: number): void {
    if (replica >= this.p.replicas.length || replica === this.p.index || this.syncPoint <= executed || this.syncCert.length === 0) return;
    const snapshot = encodeKvSnapshot(this.stateAt(this.syncPoint).snapshot());
    ctx.send(this.p.replicas[replica]!, { type: 'state-reply', replica: this.p.index, cert: this.syncCert, snapshot });
  }

  /**
   * A final point past ours, with the state there: 2f+1 signed SYNCs name the log hash and the
   * state's digest, so one replica's copy is checked against them (PBFT's checkpoints). Taken
   * only within our epoch (a later one is joined by its view change first).
   */
  private onStateReply(m: StateReply): void {
    const point = checkSyncCert(m.cert, this.checkEnv());
    if (typeof point === 'string' || point.slot === 0) return this.obs.invalid('bad-state-certificate');
    // Rejoining, the epoch moved on since the recovery round: ask again.
    if (this.awaitingState && point.epoch > this.view.epoch) return this.startRecovery(this.ctx);
    if (point.slot <= this.executed || point.epoch > this.view.epoch) return;
    const store = openKvState(m.snapshot, m.cert[0]!.stateDigest);
    if (typeof store === 'string') return this.obs.invalid(store);
    // Everything up to the point is final and in that state: what we held of it goes.
    for (let s = this.executed + 1; s <= point.slot; s++) delete this.log[s];
    for (let s = this.executed; s > 0 && this.log[s]?.undo; s--) delete this.log[s]!.undo;
    this.store = store;
    this.hashes.length = point.slot;
    this.hashes[point.slot] = point.hash;
    this.executed = point.slot;
    for (const slot of [...this.missing]) if (slot <= point.slot) this.resolved(slot);
    // Nothing at or below the point is open any more (not even the interval a laggard would want from us).
    this.compact(point.slot);
    this.stateWanted = 0;
    this.obs.stateTransferred(point.slot);
    this.finalize(point.slot, m.cert, point.epoch);
    if (point.epoch === this.aomEpoch) this.aom.skipTo(this.ctx, point.slot - this.epochStarts.get(point.epoch)!);
    this.execute();
    if (this.awaitingState) this.rejoined(this.ctx);
  }

  // ——— Recovery (a replica that starts with empty state) ———

  private startRecovery(ctx: Ctx<NeoMsg>): void {
    this.recovery = new RecoveryRound(Math.max(0, ctx.now) + ++this.recoveryRounds, this.checkEnv(), LOG_WINDOW);
    this.awaitingState = false;
    ctx.multicast(this.others(), { type: 'recovery', replica: this.p.index, nonce: this.recovery.nonce });
  }

  private retryRecovery(ctx: Ctx<NeoMsg>): void {
    const round = this.recovery!;
    if (this.awaitingState) return;
    // Enough answers and still no outcome: the cluster is between epochs; a new round, with a new nonce.
    if (round.answers >= 2 * this.p.f) return this.startRecovery(ctx);
    ctx.multicast(this.others(), { type: 'recovery', replica: this.p.index, nonce: round.nonce });
  }

  /** Where we are, as we are (a replica still rejoining says so: the start of epoch 1, nothing final). */
  private answerRecovery(ctx: Ctx<NeoMsg>, m: Recovery): void {
    if (m.replica >= this.p.replicas.length || m.replica === this.p.index) return;
    const reply = sign<RecoveryReply>({
      type: 'recovery-reply', view: this.view, replica: this.p.index, nonce: m.nonce, executed: this.executed, cert: this.syncCert, sig: new Uint8Array(64),
    }, this.p.keys);
    ctx.send(this.p.replicas[m.replica]!, reply);
  }

  private onRecoveryReply(ctx: Ctx<NeoMsg>, m: RecoveryReply): void {
    if (!this.recovery || this.awaitingState) return;
    if (this.recovery.add(m) !== null) return this.obs.invalid('bad-recovery-reply');
    const out = this.recovery.outcome();
    if (out) this.rejoin(ctx, out);
  }

  /** Takes the view and epoch the recovery round found; then the state at its final point, if past genesis. */
  private rejoin(ctx: Ctx<NeoMsg>, out: RecoveryOutcome): void {
    const epoch = out.point.epoch;
    const auth = this.p.authFor(epoch);
    if (!auth) return this.obs.invalid('no-keys-for-next-epoch');
    this.muteUntil = out.muteUntil;
    this.view = out.view;
    this.target = out.view;
    this.epochStarts.clear();
    this.epochStarts.set(epoch, out.point.epochStart);
    this.certifiedEpoch = epoch;
    if (epoch !== this.aomEpoch) {
      this.aomEpoch = epoch;
      this.held = [];
      this.lastSign = null;
      this.aom.setEpoch(ctx, epoch, auth);
    }
    this.obs.viewStarted(out.view);
    if (out.point.slot === 0) return this.rejoined(ctx, out.muteUntil === 0 && epoch === 1);
    this.awaitingState = true;
    this.stateWanted = out.point.slot;
    this.stateAskedAt = -Infinity;
    this.askForState(ctx);
  }

  /** In: what AOM delivered meanwhile goes in (a fresh testbed's replica also tells epoch 1's sequencer to start). */
  private rejoined(ctx: Ctx<NeoMsg>, fresh = false): void {
    this.recovery = null;
    this.awaitingState = false;
    this.viewStartedAt = ctx.now;
    if (fresh && this.held.length === 0) {
      this.epochOneStart = sign<Sync>({
        type: 'sync', view: this.view, replica: this.p.index, slot: 0, logHash: this.hashes[0]!, stateDigest: this.store.digest(), epochStart: 0,
        resent: false, sig: new Uint8Array(64),
      }, this.p.keys);
      ctx.send(this.p.sequencerNode(1), this.epochOneStart);
    }
    this.release();
  }

  /**
   * The request a slot carries, or null: a Byzantine client's garbage, a request forged in a
   * client's name or made in the name of a client the testbed does not have still takes its
   * slot, as a no-op at every correct replica alike (`count`: on first delivery, the refusal is
   * counted by reason).
   */
  private openRequest(payload: Uint8Array, count = false): KvRequest | null {
    let opened = this.opened.get(payload);
    if (!opened) {
      try {
        opened = { request: fromKnownClient(this.p.openRequest ? this.p.openRequest(payload) : decodeKvRequest(payload), this.p.clients), refusal: null };
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        opened = { request: null, refusal: err.reason === 'bad-client-signature' || err.reason === 'unknown-client' ? err.reason : 'malformed-request' };
      }
      this.opened.set(payload, opened);
    }
    if (count && opened.refusal) this.obs.invalid(opened.refusal);
    return opened.request;
  }

  /** Delivers what AOM handed over while we were holding. */
  private release(): void {
    const held = this.held;
    this.held = [];
    for (const d of held) this.onDelivery(d);
  }
}
