import { sha256 } from '../crypto/hash.js';
import { type KvRequest, KvStore, decodeKvRequest, encodeResult } from '../apps/kv.js';
import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import type { OrderedMulticast } from './aom-messages.js';
import { type AomDelivery, AomReceiver, type AomReceiverAuth, type AomReceiverObserver } from './aom-receiver.js';
import { type ReplicaKeys, replyMac, sign, verifyRelayedOc, verifySigned } from './auth.js';
import { equalBytes } from '../crypto/bytes.js';
import type { NeoMsg } from './messages.js';
import { type Confirm, type GapDecision, type Sync, type GapDrop, type GapVote, NOOP_DIGEST, type Reply, type View } from './protocol-messages.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Slots between SYNCs. */
export const SYNC_INTERVAL = 64;

export interface ReplicaParams {
  index: number;
  f: number;
  /** Member ids of the replicas, by index. */
  replicas: NodeId[];
  group: number;
  epoch: number;
  aom: AomReceiverAuth;
  keys: ReplicaKeys;
  /** The HMAC key this replica shares with a client, and where the client is. */
  clientKey(client: number): Uint8Array;
  clientNode(client: number): NodeId;
  gapTimeoutUs: number;
  retryUs: number;
  /**
   * Byzantine-network mode: the sequencer may lie (e.g. send different messages under one number
   * to different replicas), so a slot is filled only once 2f+1 replicas confirmed the same digest.
   */
  byzantineNetwork: boolean;
}

export interface ReplicaObserver extends Pick<AomReceiverObserver, 'rejected' | 'verified'> {
  executed(slot: number, noop: boolean): void;
  synced(slot: number): void;
  gapAgreement(slot: number, outcome: 'message' | 'no-op'): void;
  rolledBack(slots: number): void;
  invalid(reason: string): void;
}

interface Slot {
  oc: OrderedMulticast | null;
  request: KvRequest | null;
  undo?: ReturnType<KvStore['execute']>['undo'];
  /** Kept when an old final slot is compacted (its certificate and request dropped). */
  digest?: Uint8Array;
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
 * A NeoBFT replica (seed-systems.md §3.4) in the normal case: it takes slots from AOM in
 * sequence order, executes speculatively and replies to the client with (view, slot, log hash,
 * result) under an HMAC. A dropped slot is fetched from the leader (QUERY/QUERY-REPLY; the
 * certificate verifies itself); if the leader missed it too, gap agreement decides between the
 * message and a no-op (GAP-FIND → GAP-RECV/GAP-DROP → GAP-DECISION → GAP-PREPARE → GAP-COMMIT,
 * 2f+1 of each), rolling back speculative execution when the slot becomes a no-op.
 *
 * Not yet here: view change and epoch change (a failed leader or sequencer stalls the group),
 * SYNC, and Byzantine-network CONFIRMs.
 */
export class Replica implements Core<NeoMsg> {
  private readonly view: View;
  private readonly aom: AomReceiver;
  private readonly log: (Slot | undefined)[] = [];
  /** Slots AOM reported dropped and not yet resolved. */
  private readonly missing = new Set<number>();
  private readonly gaps = new Map<number, Gap>();
  private readonly hashes: Uint8Array[] = [new Uint8Array(32)];
  private executed = 0;
  private readonly store = new KvStore();
  /** Byzantine-network mode: candidates per slot by digest, who confirmed what, our own confirms. */
  private readonly candidates = new Map<number, Map<string, OrderedMulticast>>();
  private readonly confirms = new Map<number, Map<string, Set<number>>>();
  private readonly myConfirms = new Map<number, Confirm>();
  /** Our confirms re-signed as requests for help (need = true), made once per slot. */
  private readonly pleas = new Map<number, Confirm>();
  /** SYNC votes per slot by log hash; the highest slot 2f+1 replicas agreed on is final. */
  private readonly syncs = new Map<number, Map<string, Set<number>>>();
  private readonly mySyncs = new Map<number, Sync>();
  private syncPoint = 0;

  constructor(private readonly p: ReplicaParams, private readonly obs: ReplicaObserver) {
    this.view = { epoch: p.epoch, leader: 0 };
    this.aom = new AomReceiver(
      { group: p.group, epoch: p.epoch, index: p.index, auth: p.aom, gapTimeoutUs: p.gapTimeoutUs, maxBuffered: 10_000 },
      { delivered: (d) => this.onDelivery(d), rejected: (r) => obs.rejected(r), verified: (s, ok) => obs.verified(s, ok) },
    );
  }

  private get isLeader(): boolean {
    return this.view.leader === this.p.index;
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
  }

  receive(ctx: Ctx<NeoMsg>, m: NeoMsg): void {
    this.ctx = ctx;
    switch (m.type) {
      case 'aom':
      case 'aom-sign':
        this.aom.receive(ctx, m);
        return;
      case 'query':
        return this.onQuery(ctx, m.replica, m.slot, m.view);
      case 'query-reply':
        if (this.sameView(m.view) && this.missing.has(m.slot) && !this.gaps.get(m.slot)?.votedDrop) this.fill(m.slot, m.oc);
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
      case 'sync':
        return this.onSync(m);
      default:
        return;
    }
  }

  timer(ctx: Ctx<NeoMsg>, name: string): void {
    this.ctx = ctx;
    if (this.aom.timer(ctx, name)) return;
    if (name !== 'retry') return;
    // Retransmit whatever is still unresolved: the network may lose any of it.
    for (const slot of this.missing) {
      const gap = this.gaps.get(slot);
      if (!gap) {
        if (this.isLeader) this.startGap(ctx, slot);
        else this.query(ctx, slot);
      } else this.resendGap(ctx, slot, gap);
    }
    // Agreements others run on slots we hold (we saw their votes, not the decision) must finish here too.
    for (const [slot, gap] of this.gaps) if (!gap.done && !this.missing.has(slot)) this.resendGap(ctx, slot, gap);
    // Our latest SYNC until it is agreed (it may have been lost).
    const lastSync = [...this.mySyncs.values()].at(-1);
    if (lastSync && lastSync.slot > this.syncPoint) ctx.multicast(this.others(), lastSync);
    // Slots not settled yet: resend our confirm, marked as asking for the others' (they may have been lost).
    for (const [slot, c] of this.myConfirms) {
      if (this.log[slot]) continue;
      let plea = this.pleas.get(slot);
      if (!plea) {
        plea = sign<Confirm>({ ...c, need: true }, this.p.keys);
        this.pleas.set(slot, plea);
      }
      ctx.multicast(this.others(), plea);
    }
    ctx.setTimer('retry', this.p.retryUs);
  }

  private sameView(v: View): boolean {
    return v.epoch === this.view.epoch && v.leader === this.view.leader;
  }

  private others(): NodeId[] {
    return this.p.replicas.filter((_, i) => i !== this.p.index);
  }

  private onDelivery(d: AomDelivery): void {
    if (d.kind === 'message') {
      if (this.p.byzantineNetwork) this.candidate(d.msg.header.seq, d.msg);
      else this.fill(d.msg.header.seq, d.msg);
      return;
    }
    this.missing.add(d.seq);
    if (this.isLeader) this.startGap(this.ctx, d.seq);
    else this.query(this.ctx, d.seq);
  }

  private fill(slot: number, oc: OrderedMulticast, confirmed = false): void {
    if (this.log[slot]) return;
    if (this.p.byzantineNetwork && !confirmed && !this.missing.has(slot)) return this.candidate(slot, oc);
    if (oc.header.seq !== slot || oc.header.epoch !== this.view.epoch) {
      this.obs.invalid('certificate-for-another-slot');
      return;
    }
    if (this.missing.has(slot)) {
      const next = this.log[slot + 1]?.oc;
      const linked = next && next.auth.scheme === 'pk' ? next.auth.linked : null;
      if (!verifyRelayedOc(oc, this.p.index, this.p.aom, linked)) {
        this.obs.invalid('forged-certificate');
        return;
      }
      if (this.p.byzantineNetwork && !this.confirmedBy(slot, oc)) {
        this.candidate(slot, oc);
        return;
      }
      this.missing.delete(slot);
    }
    let request: KvRequest | null = null;
    try {
      request = decodeKvRequest(oc.payload);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.obs.invalid('malformed-request'); // a Byzantine client's garbage still takes its slot
    }
    this.log[slot] = { oc, request };
    this.execute();
  }

  private confirmedBy(slot: number, oc: OrderedMulticast): boolean {
    return (this.confirms.get(slot)?.get(hex(oc.header.digest))?.size ?? 0) >= this.quorum;
  }

  /** Byzantine-network mode: confirm the first version of a slot we see, fill it once 2f+1 agree. */
  private candidate(slot: number, oc: OrderedMulticast): void {
    if (this.log[slot]) return;
    const d = hex(oc.header.digest);
    const byDigest = this.candidates.get(slot) ?? new Map<string, OrderedMulticast>();
    byDigest.set(d, oc);
    this.candidates.set(slot, byDigest);
    if (!this.myConfirms.has(slot)) {
      const c = sign<Confirm>({ type: 'confirm', view: this.view, replica: this.p.index, slot, digest: oc.header.digest, need: false, sig: new Uint8Array(64) }, this.p.keys);
      this.myConfirms.set(slot, c);
      this.count(c);
      this.ctx.multicast(this.others(), c);
    }
    this.settle(slot);
  }

  private count(c: Confirm): void {
    const bySlot = this.confirms.get(c.slot) ?? new Map<string, Set<number>>();
    const who = bySlot.get(hex(c.digest)) ?? new Set<number>();
    who.add(c.replica);
    bySlot.set(hex(c.digest), who);
    this.confirms.set(c.slot, bySlot);
  }

  private onConfirm(ctx: Ctx<NeoMsg>, c: Confirm): void {
    if (!this.p.byzantineNetwork || !this.sameView(c.view) || c.replica >= this.p.replicas.length || !verifySigned(c, this.p.keys)) {
      this.obs.invalid('bad-confirm');
      return;
    }
    this.count(c);
    // A replica asking for help with a slot gets our confirm again (answers never ask back).
    const mine = this.myConfirms.get(c.slot);
    if (c.need && mine) ctx.send(this.p.replicas[c.replica]!, mine);
    this.settle(c.slot);
  }

  private settle(slot: number): void {
    if (this.log[slot]) return;
    for (const [d, oc] of this.candidates.get(slot) ?? []) {
      if ((this.confirms.get(slot)?.get(d)?.size ?? 0) < this.quorum) continue;
      this.candidates.delete(slot);
      this.missing.delete(slot);
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
      if (slot % SYNC_INTERVAL === 0) this.sync(slot);
    }
  }

  /** Every SYNC_INTERVAL slots, tell the others our log hash there. */
  private sync(slot: number): void {
    const m = sign<Sync>({ type: 'sync', view: this.view, replica: this.p.index, slot, logHash: this.hashes[slot]!, sig: new Uint8Array(64) }, this.p.keys);
    this.mySyncs.set(slot, m);
    for (const old of this.mySyncs.keys()) if (old < slot) this.mySyncs.delete(old);
    this.ctx.multicast(this.others(), m);
    this.onSync(m);
  }

  private onSync(m: Sync): void {
    if (!this.sameView(m.view) || m.slot <= this.syncPoint || m.slot % SYNC_INTERVAL !== 0) return;
    if (m.replica !== this.p.index && !verifySigned(m, this.p.keys)) {
      this.obs.invalid('bad-sync');
      return;
    }
    const bySlot = this.syncs.get(m.slot) ?? new Map<string, Set<number>>();
    const who = bySlot.get(hex(m.logHash)) ?? new Set<number>();
    who.add(m.replica);
    bySlot.set(hex(m.logHash), who);
    this.syncs.set(m.slot, bySlot);
    // Final only where our own log agrees: 2f+1 matching hashes, ours among them.
    const mine = this.hashes[m.slot];
    if (who.size < this.quorum || !mine || hex(mine) !== hex(m.logHash)) return;
    this.syncPoint = m.slot;
    for (const s of this.syncs.keys()) if (s <= m.slot) this.syncs.delete(s);
    // Final entries are never rolled back: their undo records can go.
    for (let s = m.slot; s > 0 && this.log[s]?.undo; s--) delete this.log[s]!.undo;
    this.compact(m.slot - SYNC_INTERVAL);
    this.obs.synced(m.slot);
  }

  /**
   * Forgets what a long run no longer needs about slots final for a whole interval: agreement
   * and confirm state, certificates and requests (a replica that far behind would need state
   * transfer, which is not implemented), and old log hashes.
   */
  private compact(upto: number): void {
    if (upto <= 0) return;
    for (const map of [this.gaps, this.myConfirms, this.pleas, this.confirms, this.candidates] as Map<number, unknown>[]) {
      for (const slot of map.keys()) if (slot <= upto) map.delete(slot);
    }
    for (let s = upto; s > 0 && this.log[s]?.oc !== undefined && this.log[s]!.digest === undefined; s--) {
      const slot = this.log[s]!;
      this.log[s] = { oc: null, request: null, digest: digestOf(slot.oc) };
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
    this.ctx.send(this.p.clientNode(request.client), reply);
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
    ctx.send(this.p.replicas[this.view.leader]!, { type: 'query', view: this.view, replica: this.p.index, slot });
  }

  private onQuery(ctx: Ctx<NeoMsg>, replica: number, slot: number, view: View): void {
    if (!this.isLeader || !this.sameView(view) || replica >= this.p.replicas.length) return;
    const g = this.gaps.get(slot);
    if (g?.done) return this.catchUp(ctx, replica, g);
    // In Byzantine-network mode the leader may hold the slot only as the candidate it confirmed:
    // the asker's confirm may be the one still missing, so hand it over.
    const mine = this.myConfirms.get(slot);
    const oc = this.log[slot]?.oc ?? (mine ? this.candidates.get(slot)?.get(hex(mine.digest)) : undefined);
    if (oc) ctx.send(this.p.replicas[replica]!, { type: 'query-reply', view: this.view, slot, oc });
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
    const drop = sign({ type: 'gap-drop', view: this.view, replica: this.p.index, slot, sig: new Uint8Array(64) }, this.p.keys);
    g.finds.set(this.p.index, drop);
    g.votedDrop = true;
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
    if (!this.sameView(m.view) || m.replica !== this.view.leader || !verifySigned(m, this.p.keys)) {
      this.obs.invalid('bad-gap-find');
      return;
    }
    const leader = this.p.replicas[this.view.leader]!;
    const oc = this.log[m.slot]?.oc;
    if (oc && !this.gaps.get(m.slot)?.votedDrop) {
      ctx.send(leader, { type: 'gap-recv', view: this.view, replica: this.p.index, slot: m.slot, oc });
      return;
    }
    if (this.log[m.slot] === undefined || this.missing.has(m.slot)) {
      // We missed it too: vote drop, and from now on ignore query replies for it.
      this.missing.add(m.slot);
      const g = this.gap(m.slot);
      g.votedDrop = true;
      ctx.send(leader, sign({ type: 'gap-drop', view: this.view, replica: this.p.index, slot: m.slot, sig: new Uint8Array(64) }, this.p.keys));
    }
  }

  private onGapReport(ctx: Ctx<NeoMsg>, m: NeoMsg & { type: 'gap-recv' | 'gap-drop' }): void {
    if (!this.isLeader || !this.sameView(m.view)) return;
    const g = this.gaps.get(m.slot);
    if (!g || g.decision) return;
    let decision: GapDecision | null = null;
    if (m.type === 'gap-recv') {
      const next = this.log[m.slot + 1]?.oc;
      const linked = next && next.auth.scheme === 'pk' ? next.auth.linked : null;
      if (m.oc.header.seq !== m.slot || !verifyRelayedOc(m.oc, this.p.index, this.p.aom, linked)) {
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

  private validDecision(d: GapDecision): boolean {
    if (!this.sameView(d.view) || d.replica !== this.view.leader || !verifySigned(d, this.p.keys)) return false;
    if (d.recv) {
      if (d.recv.header.seq !== d.slot) return false;
      const next = this.log[d.slot + 1]?.oc;
      const linked = next && next.auth.scheme === 'pk' ? next.auth.linked : null;
      return verifyRelayedOc(d.recv, this.p.index, this.p.aom, linked) || !!(this.log[d.slot]?.oc && equalBytes(this.log[d.slot]!.oc!.header.digest, d.recv.header.digest));
    }
    const signers = new Set(d.drops.filter((x) => x.slot === d.slot && this.sameView(x.view) && verifySigned(x, this.p.keys)).map((x) => x.replica));
    return signers.size >= this.quorum;
  }

  private onDecision(ctx: Ctx<NeoMsg>, d: GapDecision): void {
    const g = this.gap(d.slot);
    if (g.decision) return;
    if (g.done) return;
    if (!this.validDecision(d)) {
      this.obs.invalid('bad-gap-decision');
      return;
    }
    g.decision = d;
    this.missing.add(d.slot);
    this.prepare(ctx, d.slot, g);
  }

  private prepare(ctx: Ctx<NeoMsg>, slot: number, g: Gap): void {
    const vote = sign({ type: 'gap-prepare', view: this.view, replica: this.p.index, slot, digest: digestOf(g.decision!.recv), sig: new Uint8Array(64) }, this.p.keys);
    g.prepares.set(this.p.index, vote);
    ctx.multicast(this.others(), vote);
    this.progressGap(ctx, slot, g);
  }

  private onVote(ctx: Ctx<NeoMsg>, v: GapVote): void {
    if (!this.sameView(v.view) || v.replica >= this.p.replicas.length || !verifySigned(v, this.p.keys)) {
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
    this.missing.delete(slot);
    const held = this.log[slot];
    if (g.decision.recv) {
      if (!held) this.log[slot] = { oc: g.decision.recv, request: safeDecode(g.decision.recv.payload) };
    } else if (held?.oc || !held) {
      if (held && slot <= this.executed) this.rollback(slot);
      this.log[slot] = { oc: null, request: null };
    }
    this.obs.gapAgreement(slot, g.decision.recv ? 'message' : 'no-op');
    this.execute();
  }
}

function safeDecode(payload: Uint8Array): KvRequest | null {
  try {
    return decodeKvRequest(payload);
  } catch (err) {
    if (err instanceof WireError) return null;
    throw err;
  }
}
