import { type KvRequest, type KvStore, encodeResult, openRequest } from '../apps/kv.js';
import { equalBytes } from '../crypto/bytes.js';
import { invariant } from '../protocol/invariant.js';
import type { Ctx } from '../runtime/core.js';
import { blockHash, qcValid, replyMac, signVote, verifyProposal } from './auth.js';
import { type Linked, hexOf } from './block-tree.js';
import type { Block, HotStuffMsg, HsReply, Proposal, Qc } from './messages.js';
import type { HotStuffReplica } from './replica.js';

/** Valid QCs remembered (by view and hash) so a QC seen again is not verified again. */
const MAX_VERIFIED = 1024;
/** Proposals held for views this replica has not reached yet, at the most this far ahead. */
const FUTURE_VIEWS = 64;

/**
 * The replica's rules (docs/hotstuff.md#rules; PODC'19 §5, Algorithm 3, with the updates of
 * Algorithm 4): a proposal is checked (leader's signature, its justify QC, the parent it names),
 * voted for once per view if safeNode holds, and its justify QC updates the highest QC, the
 * lock (on the QC's block's parent) and, on a three-chain of direct parents of consecutive
 * views, commits the chain's first block and its uncommitted ancestors, executed in order.
 */
export class Safety {
  /** The highest QC known (the paper's genericQC / qcHigh). */
  qcHigh: Qc;
  /** The locked block (the paper's lockedQC.node). */
  lock: { hash: string; height: number; view: number };
  /** The last view this replica voted in. */
  lastVoted = 0;
  private readonly verified = new Set<string>();
  /** Proposals for this view and later ones, waiting for the view or their ancestors. */
  private readonly proposals = new Map<number, Linked>();
  /** The block each leader proposed, by view (a second one is equivocation). */
  private readonly seen = new Map<number, string>();

  constructor(private readonly r: HotStuffReplica) {
    this.qcHigh = r.exec.block.justify.votes.length === 0 ? { view: 0, hash: Buffer.from(r.exec.hash, 'hex'), votes: [] } : r.exec.block.justify;
    this.lock = { hash: r.exec.hash, height: 0, view: 0 };
  }

  /** Whether `qc` is valid (verified once per view and hash). */
  qcOk(qc: Qc): boolean {
    const key = `${qc.view}:${hexOf(qc.hash)}`;
    if (this.verified.has(key)) return true;
    if (!qcValid(qc, this.r.f, this.r.p.keys)) return false;
    if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
    this.verified.add(key);
    return true;
  }

  /** Remembers a QC this replica formed itself from verified votes. */
  formed(qc: Qc): void {
    this.verified.add(`${qc.view}:${hexOf(qc.hash)}`);
  }

  onProposal(ctx: Ctx<HotStuffMsg>, m: Proposal): void {
    const r = this.r;
    const b = m.block;
    if (m.replica !== r.leaderOf(b.view) || m.replica === r.me) return r.obs.invalid('not-leader');
    if (b.batch.length > r.p.maxBatch) return r.obs.invalid('oversized-batch');
    if (b.view <= b.justify.view || !equalBytes(b.parent, b.justify.hash)) return r.obs.invalid('malformed-block');
    const hash = blockHash(b);
    const h = hexOf(hash);
    const before = this.seen.get(b.view);
    // A copy of a proposal taken is not checked again.
    if (before === h) return this.tryVote(ctx);
    if (!verifyProposal(m, hash, r.p.keys)) return r.obs.invalid('bad-signature');
    if (before !== undefined) return r.obs.invalid('equivocating-leader');
    if (!this.qcOk(b.justify)) return r.obs.invalid('bad-qc');
    this.accept(ctx, { block: b, hash: h });
  }

  /** A proposal taken (checked, or this leader's own): held for its view, joined to the tree. */
  accept(ctx: Ctx<HotStuffMsg>, l: Linked): void {
    const r = this.r;
    this.seen.set(l.block.view, l.hash);
    if (l.block.view >= r.view && l.block.view <= r.view + FUTURE_VIEWS) this.proposals.set(l.block.view, l);
    this.connected(ctx, r.tree.add(ctx, l.block, l.hash));
    this.tryVote(ctx);
  }

  /** Blocks joined to the tree, parents first: each one's justify QC is applied; then the vote and the leader's proposal may proceed. */
  connected(ctx: Ctx<HotStuffMsg>, linked: Linked[]): void {
    for (const l of linked) this.update(ctx, l.block);
    if (linked.length === 0) return;
    this.tryVote(ctx);
    this.r.pacemaker.tryPropose(ctx);
  }

  /** A valid QC learnt (in a block, a NEW-VIEW, or formed): the highest is kept; its view is over. */
  observeQc(ctx: Ctx<HotStuffMsg>, qc: Qc): void {
    const r = this.r;
    if (qc.view > this.qcHigh.view) this.qcHigh = qc;
    const h = hexOf(qc.hash);
    if (!r.tree.has(h) && qc.view > r.exec.block.view) r.tree.fetch(ctx, h, Infinity);
    if (qc.view + 1 > r.view) r.pacemaker.enter(ctx, qc.view + 1, qc.view === r.view ? 'progress' : 'synchronized');
  }

  /**
   * Algorithm 4's update(b*), with Algorithm 3's commit rule: b'' = b*.justify.node, b' its
   * parent, b the grandparent. Lock b' if higher than the lock; commit b if b'' → b' → b are
   * direct parents of consecutive views.
   */
  private update(ctx: Ctx<HotStuffMsg>, b: Block): void {
    const r = this.r;
    this.observeQc(ctx, b.justify);
    const b2 = r.tree.get(hexOf(b.justify.hash));
    const h1 = b2 && hexOf(b2.parent);
    const b1 = h1 === undefined ? undefined : r.tree.get(h1);
    if (!b2 || !b1 || h1 === undefined) return;
    if (b1.height > this.lock.height) this.lock = { hash: h1, height: b1.height, view: b1.view };
    const h0 = hexOf(b1.parent);
    const b0 = r.tree.get(h0);
    if (b0 && b2.view === b1.view + 1 && b1.view === b0.view + 1) this.commit(ctx, { block: b0, hash: h0 });
  }

  /** safeNode (§4.2): b extends the locked block, or its justify QC is newer than the lock (liveness). */
  private safeNode(b: Block): boolean {
    if (b.justify.view > this.lock.view) return true;
    let at: Block | undefined = b;
    let hash = '';
    while (at && at.height > this.lock.height) {
      hash = hexOf(at.parent);
      at = this.r.tree.get(hash);
    }
    return at !== undefined && at.height === this.lock.height && hash === this.lock.hash;
  }

  /** Votes for the proposal of the current view once it is in the tree, then moves to the next view. */
  tryVote(ctx: Ctx<HotStuffMsg>): void {
    const r = this.r;
    for (const v of this.proposals.keys()) if (v < r.view || v > r.view + FUTURE_VIEWS) this.proposals.delete(v);
    for (const v of this.seen.keys()) if (v + FUTURE_VIEWS < r.view) this.seen.delete(v);
    const l = this.proposals.get(r.view);
    if (!l || !r.tree.has(l.hash)) return;
    this.proposals.delete(r.view);
    const b = l.block;
    if (b.view > this.lastVoted && this.safeNode(b)) {
      this.lastVoted = b.view;
      r.pacemaker.sendVote(ctx, signVote(b.view, r.me, Buffer.from(l.hash, 'hex'), r.p.keys));
    } else if (b.view > this.lastVoted) r.obs.invalid('unsafe-proposal');
    r.pacemaker.enter(ctx, b.view + 1, 'progress');
  }

  /** Commits `l` and its uncommitted ancestors, executing them oldest first. */
  private commit(ctx: Ctx<HotStuffMsg>, l: Linked): void {
    const r = this.r;
    if (l.block.height <= r.exec.block.height) {
      const known = r.tree.committedAt(l.block.height);
      invariant(known === undefined || known === l.hash, 'committed-block-unchanged', () => `height ${l.block.height}: ${known} and ${l.hash}`);
      return;
    }
    const chain: Linked[] = [];
    for (let at: Linked | undefined = l; at && at.block.height > r.exec.block.height;) {
      chain.unshift(at);
      const h = hexOf(at.block.parent);
      const parent = r.tree.get(h);
      at = parent && { block: parent, hash: h };
    }
    if (!invariant(hexOf(chain[0]!.block.parent) === r.exec.hash, 'commit-extends-executed', () => `height ${chain[0]!.block.height} does not extend ${r.exec.hash}`)) return;
    for (const c of chain) this.execute(ctx, c);
  }

  private execute(ctx: Ctx<HotStuffMsg>, l: Linked): void {
    const r = this.r;
    const height = l.block.height;
    invariant(height === r.exec.block.height + 1, 'executed-in-order', () => `height ${height} after ${r.exec.block.height}`);
    r.tree.commit(height, l.hash);
    let fresh = false;
    for (const payload of l.block.batch) {
      // A faulty leader's block may hold anything: every correct replica skips the same requests.
      const request = this.open(payload);
      if (!request) continue;
      fresh ||= !r.store.answered(request.client, request.requestId);
      const { result } = r.store.execute(request);
      if (result !== null) ctx.send(r.p.clientNode(request.client), this.reply(request.client, request.requestId, result, l.block.view));
    }
    r.exec = l;
    // A block whose requests all ran before (proposed again on a fork) changes nothing: it counts as empty.
    if (fresh) r.lastBatch = height;
    r.obs.executed(l.block.batch.length);
    r.obs.committed(height);
    r.pacemaker.committed(ctx);
    r.checkpoints.executed(ctx, l);
  }

  /** A state taken by state transfer becomes the executed one. */
  install(ctx: Ctx<HotStuffMsg>, l: Linked, store: KvStore, batchHeight: number): void {
    const r = this.r;
    r.store = store;
    r.lastBatch = batchHeight;
    r.exec = l;
    if (l.block.height > this.lock.height) this.lock = { hash: l.hash, height: l.block.height, view: l.block.view };
    this.lastVoted = Math.max(this.lastVoted, l.block.view);
    const linked = r.tree.root(ctx, l);
    r.obs.committed(l.block.height);
    r.pacemaker.committed(ctx);
    if (l.block.view + 1 > r.view) r.pacemaker.enter(ctx, l.block.view + 1, 'restarted');
    this.connected(ctx, linked);
  }

  /** A request's payload decoded, or null with the refusal counted (malformed, or in the name of no client of the testbed). */
  open(payload: Uint8Array): KvRequest | null {
    return openRequest(payload, this.r.p.clients, (why) => this.r.obs.invalid(why));
  }

  reply(client: number, requestId: number, result: Parameters<typeof encodeResult>[0], view: number): HsReply {
    const r = this.r;
    const reply: HsReply = { type: 'reply', view, replica: r.me, client, requestId, result: encodeResult(result), mac: new Uint8Array(32) };
    reply.mac = replyMac(reply, r.p.clientKey(client));
    return reply;
  }
}
