import { Vouched } from '../apps/vouched.js';
import { invariant } from '../protocol/invariant.js';
import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { blockHash, signNewView, signProposal, verifyNewView, verifyVote } from './auth.js';
import { hexOf } from './block-tree.js';
import type { Block, HotStuffMsg, NewView, Proposal, Vote } from './messages.js';
import type { HotStuffReplica } from './replica.js';
import type { HotStuffViewChangeReason } from './replica-params.js';

/** The view timeout doubles at most this many times (then stays at 64 × base). */
const MAX_DOUBLINGS = 6;
/** Votes are collected for views this far ahead of ours at the most (a lagging leader gets them early). */
const VOTE_WINDOW = 64;

/** Times a leader resends its last proposal while idle. */
const IDLE_RESENDS = 4;

type Entry = 'progress' | HotStuffViewChangeReason;

/**
 * The pacemaker and the leader's part (docs/hotstuff.md#pacemaker; PODC'19 §4.4 and
 * Algorithm 3's leader). Views advance by normal progress (a replica moves to v + 1 once it
 * processed the proposal of v), on any valid QC of a later view, on f+1 replicas' NEW-VIEWs for
 * a later view, or when the view timer fires (then the replica multicasts NEW-VIEW with its
 * highest QC). The timer runs only while there is work: requests held, or blocks with requests
 * not committed. The leader of v proposes once it holds a QC of view v − 1, or 2f+1 NEW-VIEWs
 * for v, extending the highest QC it knows.
 */
export class Pacemaker {
  /** The view this replica runs: it only advances. */
  private current = 0;
  /** Requests held until committed, the latest per client (clients have one outstanding). */
  private readonly pending = new Map<number, { requestId: number; payload: Uint8Array }>();
  /** Views in a row that ended by timeout (the timeout's doubling). */
  private timeouts = 0;
  private timerArmed = false;
  private batchArmed = false;
  /** Each replica's latest NEW-VIEW view (2f+1 at ≥ v let the leader of v propose). */
  private readonly newViews: Votes<number>;
  private readonly vouched: Vouched;
  /** Votes this leader collects, by view: each sender's block hash, and its signature. */
  private readonly votes = new Map<number, { who: Votes<string>; sigs: Map<number, Uint8Array>; formed: boolean }>();
  private proposedIn = 0;
  private lastProposal: Proposal | null = null;
  private lastVote: Vote | null = null;
  private idleResends = 0;
  private entry: Entry = 'progress';
  /** The view and committed height at the previous retry tick (unchanged: no progress). */
  private mark = '';

  constructor(private readonly r: HotStuffReplica) {
    this.newViews = new Votes(2 * r.f + 1);
    this.vouched = new Vouched(r.f, 0);
  }

  get view(): number {
    return this.current;
  }

  describe(): string {
    return `pending=${this.pending.size} timer=${this.timerArmed} proposedIn=${this.proposedIn} ready=${this.ready()}`;
  }

  start(ctx: Ctx<HotStuffMsg>): void {
    this.enter(ctx, 1, 'progress');
  }

  /** Moves to `view` (if later): the timer restarts, and a view not reached by normal progress is announced by NEW-VIEW. */
  enter(ctx: Ctx<HotStuffMsg>, view: number, how: Entry): void {
    const r = this.r;
    if (view <= this.current) return;
    invariant(view > this.current, 'view-advances', () => `view ${view} after view ${this.current}`);
    this.current = view;
    this.entry = how;
    if (how !== 'progress') r.obs.viewChanged(view, how);
    r.obs.viewStarted(view);
    for (const v of this.votes.keys()) if (v + 1 < view) this.votes.delete(v);
    this.restartTimer(ctx);
    if (how !== 'progress') this.announce(ctx);
    r.safety.tryVote(ctx);
    this.tryPropose(ctx);
  }

  private announce(ctx: Ctx<HotStuffMsg>): void {
    const r = this.r;
    const m = signNewView({ type: 'new-view', view: r.view, replica: r.me, qc: r.safety.qcHigh, sig: new Uint8Array() }, r.p.keys);
    ctx.multicast(r.others(), m);
    this.counted(ctx, m);
  }

  private get timeoutUs(): number {
    return this.r.p.viewTimeoutUs * 2 ** Math.min(this.timeouts, MAX_DOUBLINGS);
  }

  /** Arms the view timer if there is work and it is not running; stops it when there is none. */
  private arm(ctx: Ctx<HotStuffMsg>): void {
    const work = this.pending.size > 0 || this.r.tree.uncommittedRequests();
    if (work && !this.timerArmed) {
      ctx.setTimer('view', this.timeoutUs);
      this.timerArmed = true;
    } else if (!work && this.timerArmed) {
      ctx.cancelTimer('view');
      this.timerArmed = false;
    }
  }

  private restartTimer(ctx: Ctx<HotStuffMsg>): void {
    ctx.cancelTimer('view');
    this.timerArmed = false;
    this.arm(ctx);
  }

  onTimeout(ctx: Ctx<HotStuffMsg>): void {
    this.timerArmed = false;
    this.timeouts++;
    // The leader failed us: its remaining views are skipped (docs/hotstuff.md#pacemaker).
    this.enter(ctx, this.r.nextLeaderView(this.r.view), 'timeout');
  }

  /** A block was committed (or a state taken): the timeout is back to base; requests answered are dropped. */
  committed(ctx: Ctx<HotStuffMsg>): void {
    this.timeouts = 0;
    for (const [client, q] of this.pending) if (this.r.store.answered(client, q.requestId)) this.pending.delete(client);
    // Progress: the view timer starts over.
    this.restartTimer(ctx);
  }

  onRequest(ctx: Ctx<HotStuffMsg>, payload: Uint8Array): void {
    const r = this.r;
    const q = r.safety.open(payload);
    if (!q) return;
    const done = r.store.lastOf(q.client);
    if (done && done.requestId >= q.requestId) {
      if (done.requestId === q.requestId) ctx.send(r.p.clientNode(q.client), r.safety.reply(q.client, q.requestId, done.result, r.exec.block.view));
      return;
    }
    if ((this.pending.get(q.client)?.requestId ?? -1) >= q.requestId) return;
    this.pending.set(q.client, { requestId: q.requestId, payload });
    this.arm(ctx);
    this.tryPropose(ctx);
  }

  /** Our vote goes to the leader of the next view (ourselves included). */
  sendVote(ctx: Ctx<HotStuffMsg>, vote: Vote): void {
    this.lastVote = vote;
    const leader = this.r.leaderOf(vote.view + 1);
    if (leader === this.r.me) this.collect(ctx, vote);
    else ctx.send(this.r.p.replicas[leader]!, vote);
  }

  onVote(ctx: Ctx<HotStuffMsg>, m: Vote): void {
    const r = this.r;
    if (m.replica >= r.n || m.replica === r.me || r.leaderOf(m.view + 1) !== r.me) return r.obs.invalid('misdirected-vote');
    if (m.view + 1 < r.view || m.view > r.view + VOTE_WINDOW) return;
    const held = this.votes.get(m.view)?.who.get(m.replica);
    if (held === hexOf(m.hash)) return;
    if (!verifyVote(m, r.p.keys)) return r.obs.invalid('bad-signature');
    this.collect(ctx, m);
  }

  /** Counts a verified vote; 2f+1 for one block make its QC, which may start our view as leader. */
  private collect(ctx: Ctx<HotStuffMsg>, m: Vote): void {
    const r = this.r;
    let v = this.votes.get(m.view);
    if (!v) this.votes.set(m.view, (v = { who: new Votes<string>(2 * r.f + 1), sigs: new Map(), formed: false }));
    const hash = hexOf(m.hash);
    const outcome = v.who.add(m.replica, hash);
    if (outcome === 'equivocation') return r.obs.invalid('equivocating-vote');
    if (outcome === 'repeat') return;
    v.sigs.set(m.replica, m.sig);
    if (v.formed || v.who.count((h) => h === hash) < 2 * r.f + 1) return;
    v.formed = true;
    const voters = v.who.senders().filter((s) => v!.who.get(s) === hash).sort((a, b) => a - b);
    const qc = { view: m.view, hash: m.hash, votes: voters.map((s) => ({ replica: s, sig: v!.sigs.get(s)! })) };
    r.safety.formed(qc);
    r.safety.observeQc(ctx, qc);
    this.tryPropose(ctx);
  }

  onNewView(ctx: Ctx<HotStuffMsg>, m: NewView): void {
    const r = this.r;
    if (m.replica >= r.n || m.replica === r.me || m.view === 0) return r.obs.invalid('unknown-replica');
    // One we hold (or a later one of the sender's) changes nothing but what its QC shows.
    const repeat = (this.newViews.get(m.replica) ?? 0) >= m.view;
    if (!repeat && !verifyNewView(m, r.p.keys)) return r.obs.invalid('bad-signature');
    if (!r.safety.qcOk(m.qc)) return r.obs.invalid('bad-qc');
    // The sender is behind us: it gets our newest block, whose justify QC may commit what it misses.
    if (m.qc.view < r.safety.qcHigh.view && r.tree.newest.block.view > 0) {
      ctx.send(r.p.replicas[m.replica]!, { type: 'block-reply', replica: r.me, block: r.tree.newest.block });
    }
    this.counted(ctx, m);
  }

  private counted(ctx: Ctx<HotStuffMsg>, m: NewView): void {
    const r = this.r;
    r.safety.observeQc(ctx, m.qc);
    if ((this.newViews.get(m.replica) ?? 0) < m.view) this.newViews.set(m.replica, m.view);
    this.vouched.report(m.replica, m.view);
    if (this.vouched.value > r.view) this.enter(ctx, this.vouched.value, 'synchronized');
    this.tryPropose(ctx);
  }

  /** Whether this leader may propose in its view: a QC of the previous view, or 2f+1 NEW-VIEWs for it. */
  private ready(): 'qc' | 'new-views' | null {
    const v = this.r.view;
    if (this.r.safety.qcHigh.view === v - 1) return 'qc';
    return this.newViews.reachedBy((view) => view >= v) ? 'new-views' : null;
  }

  /**
   * The leader's proposal (Algorithm 3): at once when requests wait; with none, an empty block
   * after the batch delay, only when needed to drive earlier requests to commit (or after a view
   * change); never while idle.
   */
  tryPropose(ctx: Ctx<HotStuffMsg>, force = false): void {
    const r = this.r;
    const v = r.view;
    if (r.leaderOf(v) !== r.me || this.proposedIn >= v) return;
    const why = this.ready();
    if (!why) return;
    const qc = r.safety.qcHigh;
    const parent = r.tree.get(hexOf(qc.hash));
    if (!parent || parent.height < r.exec.block.height) return;
    const batch = this.batch(parent);
    if (batch.length === 0 && !force) {
      if ((why === 'new-views' || this.drive(parent)) && !this.batchArmed) {
        ctx.setTimer('batch', r.p.batchDelayUs);
        this.batchArmed = true;
      }
      return;
    }
    if (batch.length === 0 && !(why === 'new-views' || this.drive(parent))) return;
    this.propose(ctx, { view: v, height: parent.height + 1, parent: qc.hash, justify: qc, batch });
  }

  onBatchTimer(ctx: Ctx<HotStuffMsg>): void {
    this.batchArmed = false;
    this.tryPropose(ctx, true);
  }

  private propose(ctx: Ctx<HotStuffMsg>, block: Block): void {
    const r = this.r;
    ctx.cancelTimer('batch');
    this.batchArmed = false;
    this.proposedIn = block.view;
    const m = signProposal(r.me, block, r.p.keys);
    this.lastProposal = m;
    this.idleResends = 0;
    if (block.batch.length > 0) r.obs.batched(block.batch.length);
    ctx.multicast(r.others(), m);
    r.safety.accept(ctx, { block, hash: hexOf(blockHash(block)) });
  }

  /** Requests held and not already in a block between the executed one and `parent`, up to maxBatch. */
  private batch(parent: Block): Uint8Array[] {
    const r = this.r;
    const inFlight = new Set<string>();
    for (let b: Block | undefined = parent; b && b.height > r.exec.block.height; b = r.tree.get(hexOf(b.parent))) {
      for (const payload of b.batch) inFlight.add(hexOf(payload));
    }
    const out: Uint8Array[] = [];
    for (const q of this.pending.values()) {
      if (out.length >= r.p.maxBatch) break;
      if (!inFlight.has(hexOf(q.payload))) out.push(q.payload);
    }
    return out;
  }

  /**
   * Whether an empty block is needed to drive a commit: a block with requests among the parent
   * and its ancestors not yet committed by what the parent's own justify QC commits (the other
   * replicas commit only on a QC carried in a block: §5's three-chain).
   */
  private drive(parent: Block): boolean {
    const r = this.r;
    const known = this.commitTarget(parent);
    let b: Block | undefined = parent;
    for (let steps = 0; b && steps < 4 && b.height > (known ?? -1); steps++, b = r.tree.get(hexOf(b.parent))) {
      if (b.batch.length > 0) return true;
    }
    return false;
  }

  /** The height a block's justify QC commits (its three-chain), or null. */
  private commitTarget(b: Block): number | null {
    const t = this.r.tree;
    const b2 = t.get(hexOf(b.justify.hash));
    const b1 = b2 && t.get(hexOf(b2.parent));
    const b0 = b1 && t.get(hexOf(b1.parent));
    return b2 && b1 && b0 && b2.view === b1.view + 1 && b1.view === b0.view + 1 ? b0.height : null;
  }

  /** The retry period: with no progress since the last tick, our vote, proposal or NEW-VIEW is sent again. */
  tick(ctx: Ctx<HotStuffMsg>): void {
    const r = this.r;
    const mark = `${r.view}:${r.exec.block.height}`;
    if (mark === this.mark) this.resend(ctx);
    this.mark = mark;
  }

  /**
   * What made no progress for a retry period is sent again while there is work. Idle, only our
   * last proposal goes again, a few times: it carries the QC that commits the last requests, and
   * a replica that lost it (and the requests) would otherwise never learn of them.
   */
  private resend(ctx: Ctx<HotStuffMsg>): void {
    const r = this.r;
    const leader = r.leaderOf(r.view);
    if (this.lastProposal && this.proposedIn + 1 >= r.view && (this.timerArmed || this.idleResends++ < IDLE_RESENDS)) {
      ctx.multicast(r.others(), this.lastProposal);
    }
    if (!this.timerArmed) return;
    if (this.lastVote && this.lastVote.view + 1 === r.view && leader !== r.me) ctx.send(r.p.replicas[leader]!, this.lastVote);
    if (this.entry !== 'progress') this.announce(ctx);
  }
}
