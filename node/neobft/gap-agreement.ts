import { equalBytes, hex } from '../crypto/bytes.js';
import type { Backoff } from '../protocol/backoff.js';
import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import type { OrderedMulticast } from './aom-messages.js';
import { sign, verifyRelayedOc, verifySigned } from './auth.js';
import type { NeoMsg } from './messages.js';
import { type GapDecision, type GapDrop, type GapVote, NOOP_DIGEST, type SignedMsg, type View } from './protocol-messages.js';
import type { Replica } from './replica.js';
import { digestOf } from './log.js';
import { LOG_WINDOW } from './replica-params.js';

/** One slot's agreement; every vote set counts 2f+1, a replica's latest vote standing. */
interface Gap {
  finds: Votes<GapDrop>;
  decision: GapDecision | null;
  prepares: Votes<GapVote>;
  commits: Votes<GapVote>;
  votedDrop: boolean;
  done: boolean;
}

type GapReport = NeoMsg & { type: 'gap-recv' | 'gap-drop' };
type GapFind = NeoMsg & { type: 'gap-find' };

/**
 * Dropped slots (NeoBFT §5; docs/neobft.md#dropped-slots-query-and-gap-agreement): a replica
 * asks the leader for the slot (QUERY/QUERY-REPLY; the certificate verifies itself); if the
 * leader missed it too, gap agreement decides between the message and a no-op (GAP-FIND →
 * GAP-RECV/GAP-DROP → GAP-DECISION → GAP-PREPARE → GAP-COMMIT, 2f+1 of each), rolling back
 * speculative execution when the slot becomes a no-op.
 */
export class GapAgreement {
  private readonly gaps = new Map<number, Gap>();
  /** Retransmission schedule of queries and gap agreement, per slot. */
  private readonly slotResends: Backoff<number>;

  constructor(private readonly r: Replica) {
    this.slotResends = r.newBackoff<number>();
  }

  get size(): number {
    return this.gaps.size;
  }

  /** Whether we voted GAP-DROP on `slot` (we then take it only from the agreement's decision). */
  votedDrop(slot: number): boolean {
    return !!this.gaps.get(slot)?.votedDrop;
  }

  /** An open slot: the leader starts gap agreement on it, anyone else asks the leader. */
  chase(ctx: Ctx<NeoMsg>, slot: number): void {
    if (this.r.isLeader) this.start(ctx, slot);
    else this.query(ctx, slot);
  }

  /** Retransmits whatever is still unresolved (the network may lose any of it), each slot on its own backoff. */
  retry(ctx: Ctx<NeoMsg>): void {
    const r = this.r;
    const now = ctx.now;
    for (const slot of r.log.missing) {
      if (slot > r.sync.point + LOG_WINDOW || !this.slotResends.due(slot, now)) continue;
      const gap = this.gaps.get(slot);
      if (!gap) this.chase(ctx, slot);
      else this.resend(ctx, slot, gap);
    }
    // Agreements others run on slots we hold (we saw their votes, not the decision) must finish here too.
    for (const [slot, gap] of this.gaps) if (!gap.done && !r.log.missing.has(slot) && this.slotResends.due(slot, now)) this.resend(ctx, slot, gap);
  }

  private query(ctx: Ctx<NeoMsg>, slot: number): void {
    const r = this.r;
    ctx.send(r.leaderNode, { type: 'query', view: r.view, replica: r.p.index, slot });
  }

  onQuery(ctx: Ctx<NeoMsg>, replica: number, slot: number, view: View): void {
    const r = this.r;
    if (!r.sameView(view) || replica >= r.p.replicas.length) return;
    // (Only a mute replica asks the others too: they answer with their CONFIRM.)
    if (!r.isLeader) return r.confirms.confirmTo(ctx, replica, slot);
    const g = this.gaps.get(slot);
    // An agreement of an earlier view no longer counts here: the message itself is sent instead.
    if (g?.done && g.decision && r.sameView(g.decision.view)) return this.catchUp(ctx, replica, g);
    // In Byzantine-network mode the leader may hold the slot only as the candidate it confirmed:
    // the asker's confirm may be the one still missing, so hand it over.
    const oc = r.log.slots[slot]?.oc ?? r.confirms.confirmedCandidate(slot);
    if (!oc) return;
    ctx.send(r.p.replicas[replica]!, { type: 'query-reply', view: r.view, slot, oc });
    if (r.p.byzantineNetwork) r.confirms.confirmTo(ctx, replica, slot);
  }

  onQueryReply(ctx: Ctx<NeoMsg>, m: NeoMsg & { type: 'query-reply' }): void {
    if (this.r.sameView(m.view) && this.r.log.missing.has(m.slot)) this.r.normal.fill(ctx, m.slot, m.oc);
  }

  /** A replica still working on a slot we settled gets the decision and our commit (which it may have lost). */
  private catchUp(ctx: Ctx<NeoMsg>, replica: number, g: Gap): void {
    const to = this.r.p.replicas[replica]!;
    if (g.decision) ctx.send(to, g.decision);
    const mine = g.commits.get(this.r.p.index);
    if (mine) ctx.send(to, mine);
  }

  private gap(slot: number): Gap {
    let g = this.gaps.get(slot);
    if (!g) {
      const q = this.r.quorum;
      g = { finds: new Votes(q), decision: null, prepares: new Votes(q), commits: new Votes(q), votedDrop: false, done: false };
      this.gaps.set(slot, g);
    }
    return g;
  }

  /** Our GAP-FIND or GAP-DROP for `slot` in this view. */
  private signed<T extends 'gap-find' | 'gap-drop'>(type: T, slot: number): Extract<SignedMsg, { type: T }> {
    const r = this.r;
    return sign({ type, view: r.view, replica: r.p.index, slot, sig: new Uint8Array(64) } as Extract<SignedMsg, { type: T }>, r.p.keys);
  }

  private start(ctx: Ctx<NeoMsg>, slot: number): void {
    const r = this.r;
    const g = this.gap(slot);
    // A mute leader cannot vote drop, but it still asks: a replica holding the slot answers with
    // it (GAP-RECV), or 2f+1 others' GAP-DROPs decide a no-op without its vote. Leaving the slot
    // open instead stalled the testbed: its log never reached the next SYNC point, so it stayed
    // mute, and with a silent replica besides no SYNC quorum formed.
    if (!r.mute) {
      g.finds.set(r.p.index, this.signed('gap-drop', slot));
      g.votedDrop = true;
    }
    ctx.multicast(r.others(), this.signed('gap-find', slot));
  }

  private resend(ctx: Ctx<NeoMsg>, slot: number, g: Gap): void {
    const r = this.r;
    if (!g.decision) {
      // The leader keeps looking; anyone else asks it (a settled leader answers with its decision).
      if (r.isLeader) ctx.multicast(r.others(), this.signed('gap-find', slot));
      else this.query(ctx, slot);
      return;
    }
    if (r.isLeader) ctx.multicast(r.others(), g.decision);
    // Our prepare also tells replicas that already settled the slot to send us their commits.
    for (const vote of [g.prepares.get(r.p.index), g.commits.get(r.p.index)]) if (vote) ctx.multicast(r.others(), vote);
  }

  onFind(ctx: Ctx<NeoMsg>, m: GapFind): void {
    const r = this.r;
    if (!r.sameView(m.view)) return this.otherView();
    if (m.replica !== r.leader || !verifySigned(m, r.p.keys)) {
      r.obs.invalid('bad-gap-find');
      return;
    }
    const leader = r.leaderNode;
    // A candidate we confirmed counts as received: we must not vote to drop what we confirmed.
    const oc = r.log.slots[m.slot]?.oc ?? r.confirms.confirmedCandidate(m.slot);
    if (oc && !this.gaps.get(m.slot)?.votedDrop) {
      ctx.send(leader, { type: 'gap-recv', view: r.view, replica: r.p.index, slot: m.slot, oc });
      return;
    }
    if (!r.mute && (r.log.slots[m.slot] === undefined || r.log.missing.has(m.slot))) {
      // We missed it too: vote drop, and from now on ignore query replies for it.
      r.log.markMissing(m.slot, ctx.now);
      const g = this.gap(m.slot);
      g.votedDrop = true;
      ctx.send(leader, this.signed('gap-drop', m.slot));
    }
  }

  /**
   * A gap-agreement message of another view: not a forgery — its sender is a view ahead of or
   * behind us (replicas leave a view one at a time, more so on a slow testbed). Counted apart
   * (`other-view`); the view change brings the two together (a replica behind hears the new
   * leader's VIEW-START, which it keeps announcing).
   */
  private otherView(): void {
    this.r.obs.invalid('other-view');
  }

  onReport(ctx: Ctx<NeoMsg>, m: GapReport): void {
    const r = this.r;
    if (!r.isLeader || !r.sameView(m.view)) return;
    const g = this.gaps.get(m.slot);
    if (!g || g.decision) return;
    let decision: GapDecision | null = null;
    if (m.type === 'gap-recv') {
      if (r.slotOf(m.oc) !== m.slot || !this.verifyRelayed(m.oc, m.slot)) {
        r.obs.invalid('forged-certificate');
        return;
      }
      decision = { type: 'gap-decision', view: r.view, replica: r.p.index, slot: m.slot, recv: m.oc, drops: [], sig: new Uint8Array(64) };
    } else {
      if (!verifySigned(m, r.p.keys)) {
        r.obs.invalid('bad-gap-drop');
        return;
      }
      g.finds.set(m.replica, m);
      if (g.finds.reached) {
        decision = { type: 'gap-decision', view: r.view, replica: r.p.index, slot: m.slot, recv: null, drops: g.finds.values().slice(0, r.quorum), sig: new Uint8Array(64) };
      }
    }
    if (!decision) return;
    g.decision = sign(decision, r.p.keys);
    ctx.multicast(r.others(), g.decision);
    this.prepare(ctx, m.slot, g);
  }

  /** Whether a relayed certificate is authentic, under its epoch's keys (PK: linked by the next slot's message). */
  private verifyRelayed(oc: OrderedMulticast, slot: number): boolean {
    const r = this.r;
    const auth = r.p.authFor(oc.header.epoch);
    const next = r.log.slots[slot + 1]?.oc;
    const linked = next && next.auth.scheme === 'pk' && next.header.epoch === oc.header.epoch ? next.auth.linked : null;
    return !!auth && verifyRelayedOc(oc, r.p.index, auth, linked);
  }

  private validDecision(d: GapDecision): boolean {
    const r = this.r;
    if (!r.sameView(d.view) || d.replica !== r.leader || !verifySigned(d, r.p.keys)) return false;
    if (d.recv) {
      if (r.slotOf(d.recv) !== d.slot) return false;
      // Authentic if it checks out as relayed, or is what we hold ourselves (in the log, or a
      // candidate AOM delivered to us that our drop vote kept out of it).
      return this.verifyRelayed(d.recv, d.slot) || !!(r.log.slots[d.slot]?.oc && equalBytes(r.log.slots[d.slot]!.oc!.header.digest, d.recv.header.digest))
        || !!r.confirms.candidates.get(d.slot)?.has(hex(d.recv.header.digest));
    }
    const signers = new Votes(r.quorum);
    for (const x of d.drops) if (x.slot === d.slot && r.sameView(x.view) && verifySigned(x, r.p.keys)) signers.add(x.replica, true);
    return signers.reached;
  }

  onDecision(ctx: Ctx<NeoMsg>, d: GapDecision): void {
    const r = this.r;
    const g = this.gap(d.slot);
    if (g.decision) return;
    if (g.done) return;
    if (!r.sameView(d.view)) return this.otherView();
    if (!this.validDecision(d)) {
      r.obs.invalid('bad-gap-decision');
      return;
    }
    // Byzantine-network mode: an equivocating sequencer may have sent another version of the
    // slot; we never prepare one other than the version we confirmed or hold, so a version
    // 2f+1 confirmed (f+1 correct replicas among them) cannot be overruled. (A drop decision's
    // 2f+1 signed GAP-DROPs already prove that no version was filled anywhere.)
    const ours = r.confirms.mine.get(d.slot)?.digest ?? r.log.slots[d.slot]?.oc?.header.digest;
    if (r.p.byzantineNetwork && d.recv && ours && !equalBytes(ours, d.recv.header.digest)) {
      r.obs.invalid('gap-decision-contradicts-confirm');
      return;
    }
    g.decision = d;
    r.log.markMissing(d.slot, ctx.now);
    this.prepare(ctx, d.slot, g);
  }

  private prepare(ctx: Ctx<NeoMsg>, slot: number, g: Gap): void {
    const r = this.r;
    const vote = sign({ type: 'gap-prepare', view: r.view, replica: r.p.index, slot, digest: digestOf(g.decision!.recv), sig: new Uint8Array(64) }, r.p.keys);
    g.prepares.set(r.p.index, vote);
    ctx.multicast(r.others(), vote);
    this.progress(ctx, slot, g);
  }

  onVote(ctx: Ctx<NeoMsg>, v: GapVote): void {
    const r = this.r;
    if (!r.sameView(v.view)) return this.otherView();
    // A vote we hold already (resent by its sender) is not checked again.
    const stored = this.gaps.get(v.slot)?.[v.type === 'gap-prepare' ? 'prepares' : 'commits'].get(v.replica);
    const known = stored !== undefined && r.sameView(stored.view) && equalBytes(stored.digest, v.digest);
    if (!known && (v.replica >= r.p.replicas.length || !verifySigned(v, r.p.keys))) {
      r.obs.invalid('bad-gap-vote');
      return;
    }
    const g = this.gap(v.slot);
    if (g.done) {
      // Its prepare says it is still working on the slot; answering commits would echo forever.
      if (v.type === 'gap-prepare' && v.replica !== r.p.index) this.catchUp(ctx, v.replica, g);
      return;
    }
    (v.type === 'gap-prepare' ? g.prepares : g.commits).set(v.replica, v);
    // Others are voting on a slot we never saw the decision for (we may hold its message and
    // have missed the whole agreement): ask the leader, which answers with its decision.
    if (!g.decision && !r.isLeader) this.query(ctx, v.slot);
    this.progress(ctx, v.slot, g);
  }

  private progress(ctx: Ctx<NeoMsg>, slot: number, g: Gap): void {
    const r = this.r;
    if (!g.decision || g.done) return;
    const digest = digestOf(g.decision.recv);
    const matching = (v: GapVote) => equalBytes(v.digest, digest);
    if (!g.commits.has(r.p.index) && g.prepares.reachedBy(matching)) {
      const commit = sign({ type: 'gap-commit', view: r.view, replica: r.p.index, slot, digest, sig: new Uint8Array(64) }, r.p.keys);
      g.commits.set(r.p.index, commit);
      ctx.multicast(r.others(), commit);
    }
    if (!g.commits.reachedBy(matching)) return;
    // 2f+1 commits: the gap certificate. Keep the message, or make the slot a no-op.
    g.done = true;
    this.settle(slot, g.decision, g.commits);
    r.obs.gapAgreement(slot, g.decision.recv ? 'message' : 'no-op');
    r.log.execute(ctx);
  }

  private settle(slot: number, decision: GapDecision, commits: Votes<GapVote>): void {
    const r = this.r;
    r.log.resolved(slot);
    const held = r.log.slots[slot];
    if (decision.recv) {
      if (!held) r.log.slots[slot] = { oc: decision.recv, request: r.clients.openRequest(decision.recv.payload) };
    } else if (held?.oc || !held) {
      if (held && slot <= r.log.executed) r.log.rollback(slot);
      const proof = commits.values().filter((v) => equalBytes(v.digest, NOOP_DIGEST)).slice(0, r.quorum);
      r.log.slots[slot] = { oc: null, request: null, proof };
    }
  }

  /** An agreement on `slot` no longer holds (a view's merged log reopened the slot). */
  forget(slot: number): void {
    this.gaps.delete(slot);
  }

  /** A new view: open agreements belong to the old leader; the new one starts its own. */
  newView(): void {
    for (const [slot, g] of this.gaps) if (!g.done) this.gaps.delete(slot);
    this.slotResends.clear();
  }

  compact(upto: number): void {
    for (const slot of this.gaps.keys()) if (slot <= upto) this.gaps.delete(slot);
    this.slotResends.forgetWhere((slot) => slot <= upto);
  }
}
