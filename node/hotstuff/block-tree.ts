import { hex } from '../crypto/bytes.js';
import { invariant } from '../protocol/invariant.js';
import type { Ctx } from '../runtime/core.js';
import { blockHash } from './auth.js';
import type { Block, BlockFetch, BlockReply, HotStuffMsg } from './messages.js';
import type { HotStuffReplica } from './replica.js';

export const hexOf = (b: Uint8Array): string => hex(b);

/** Blocks held whose parent is missing, at the most (a flood of made-up ones cannot grow it further). */
const MAX_ORPHANS = 256;
/** Retry periods a missing block is asked for before it is given up. */
const MAX_ASKS = 20;
/** Committed hashes remembered below the stable checkpoint (the commit invariant's window). */
const COMMITTED_MEMORY = 256;

export interface Linked {
  block: Block;
  hash: string;
}

/**
 * The blocks a replica knows, as a tree hanging from the last executed block
 * (docs/hotstuff.md#catch-up). A block whose parent is missing waits as an orphan while the
 * parent is fetched by hash (BLOCK-FETCH, asked of every other replica; a reply counts only
 * if it hashes to what was asked). Blocks below the stable checkpoint are pruned; a replica
 * asking for one of those is sent the state at the checkpoint instead.
 */
export class BlockTree {
  private readonly blocks = new Map<string, Block>();
  private readonly orphans = new Map<string, Block>();
  /** Hashes being fetched, each with the height of the block that needs it and how often it was asked for. */
  private readonly wanted = new Map<string, { height: number; asks: number }>();
  /** Committed block hash by height: a committed height never changes hash (checked). */
  private readonly committed = new Map<number, string>();
  /** The block with the highest view in the tree (sent to a replica that shows an older QC). */
  newest: Linked;

  constructor(private readonly r: HotStuffReplica) {
    this.blocks.set(r.exec.hash, r.exec.block);
    this.committed.set(0, r.exec.hash);
    this.newest = r.exec;
  }

  get(hash: string): Block | undefined {
    return this.blocks.get(hash);
  }

  has(hash: string): boolean {
    return this.blocks.has(hash);
  }

  get size(): number {
    return this.blocks.size;
  }

  describe(): string {
    return `blocks=${this.blocks.size} orphans=${this.orphans.size} wanted=${this.wanted.size}`;
  }

  committedAt(height: number): string | undefined {
    return this.committed.get(height);
  }

  /** Records that the block `hash` is committed at `height`; a different hash there is a safety violation. */
  commit(height: number, hash: string): void {
    const before = this.committed.get(height);
    invariant(before === undefined || before === hash, 'committed-block-unchanged', () => `height ${height} committed ${before} then ${hash}`);
    this.committed.set(height, hash);
  }

  /**
   * Adds a block whose hash is `hash`. Returns the blocks this connected to the tree, parents
   * first (the block itself and orphans waiting for it); none while its parent is missing.
   */
  add(ctx: Ctx<HotStuffMsg>, block: Block, hash: string): Linked[] {
    if (this.blocks.has(hash) || block.height <= this.r.exec.block.height) return [];
    const parentHash = hexOf(block.parent);
    const parent = this.blocks.get(parentHash);
    if (!parent) {
      // Its parent would be at or below what we executed, and is not what we executed: stale or conflicting.
      if (block.height - 1 <= this.r.exec.block.height) return [];
      if (this.orphans.size < MAX_ORPHANS) this.orphans.set(hash, block);
      this.fetch(ctx, parentHash, block.height);
      return [];
    }
    if (parent.height + 1 !== block.height || block.view <= parent.view) {
      this.r.obs.invalid('malformed-block');
      return [];
    }
    const linked: Linked[] = [];
    const queue: Linked[] = [{ block, hash }];
    while (queue.length > 0) {
      const next = queue.shift()!;
      this.insert(next);
      linked.push(next);
      for (const [h, o] of this.orphans) {
        if (hexOf(o.parent) !== next.hash) continue;
        this.orphans.delete(h);
        if (o.height === next.block.height + 1 && o.view > next.block.view) queue.push({ block: o, hash: h });
      }
    }
    return linked;
  }

  private insert(l: Linked): void {
    this.blocks.set(l.hash, l.block);
    this.wanted.delete(l.hash);
    if (l.block.view > this.newest.block.view) this.newest = l;
  }

  /** Asks every other replica for the block `hash` (needed by a block at `height`). */
  fetch(ctx: Ctx<HotStuffMsg>, hash: string, height: number): void {
    if (this.wanted.has(hash) || this.blocks.has(hash)) return;
    this.wanted.set(hash, { height, asks: 1 });
    this.ask(ctx, hash);
  }

  private ask(ctx: Ctx<HotStuffMsg>, hash: string): void {
    ctx.multicast(this.r.others(), { type: 'block-fetch', replica: this.r.me, hash: Buffer.from(hash, 'hex'), committed: this.r.exec.block.height });
  }

  /** The retry period: fetches still unanswered are asked again. */
  tick(ctx: Ctx<HotStuffMsg>): void {
    for (const [hash, w] of this.wanted) {
      // Nobody has it (a made-up hash, or pruned everywhere: a state transfer follows): given up.
      if (++w.asks > MAX_ASKS) this.wanted.delete(hash);
      else this.ask(ctx, hash);
    }
  }

  onFetch(ctx: Ctx<HotStuffMsg>, m: BlockFetch): void {
    const to = this.r.p.replicas[m.replica];
    if (to === undefined || m.replica === this.r.me) return this.r.obs.invalid('unknown-replica');
    const block = this.blocks.get(hexOf(m.hash));
    if (block) return ctx.send(to, { type: 'block-reply', replica: this.r.me, block });
    // Pruned (or never had it): the asker is behind our stable checkpoint, it takes the state.
    this.r.checkpoints.sendState(ctx, m.replica, m.committed);
  }

  /**
   * A block asked for is taken once it hashes to what was asked (its content is vouched for by
   * the QC or parent link that named it). One nobody asked for (sent to a replica showing an
   * older QC) is taken only with a valid justify QC, which is what its use rests on.
   */
  onBlockReply(ctx: Ctx<HotStuffMsg>, m: BlockReply): void {
    const hash = hexOf(blockHash(m.block));
    if (!this.wanted.has(hash)) {
      if (this.blocks.has(hash) || m.block.height <= this.r.exec.block.height) return;
      if (m.block.view <= m.block.justify.view || hexOf(m.block.parent) !== hexOf(m.block.justify.hash)) return this.r.obs.invalid('malformed-block');
      if (!this.r.safety.qcOk(m.block.justify)) return this.r.obs.invalid('bad-qc');
    }
    this.r.safety.connected(ctx, this.add(ctx, m.block, hash));
  }

  /** Whether a block above the executed one carries requests (so there is work to commit). */
  uncommittedRequests(): boolean {
    const h = this.r.exec.block.height;
    for (const b of this.blocks.values()) if (b.height > h && b.batch.length > 0) return true;
    return false;
  }

  /** A new executed root (a state taken): it joins the tree, what waited for it connects. */
  root(ctx: Ctx<HotStuffMsg>, l: Linked): Linked[] {
    this.insert(l);
    this.commit(l.block.height, l.hash);
    const linked: Linked[] = [];
    for (const [h, o] of [...this.orphans]) {
      if (hexOf(o.parent) !== l.hash || !this.orphans.has(h)) continue;
      this.orphans.delete(h);
      linked.push(...this.add(ctx, o, h));
    }
    this.dropBelow(l.block.height);
    return linked;
  }

  /** Forgets blocks below `height` (but the executed one), orphans and fetches no longer useful. */
  dropBelow(height: number): void {
    const execHeight = this.r.exec.block.height;
    for (const [h, b] of this.blocks) if (b.height < height && h !== this.r.exec.hash) this.blocks.delete(h);
    for (const [h, b] of this.orphans) if (b.height <= execHeight) this.orphans.delete(h);
    for (const [h, w] of this.wanted) if (w.height - 1 <= execHeight) this.wanted.delete(h);
    for (const k of this.committed.keys()) if (k < height - COMMITTED_MEMORY) this.committed.delete(k);
    if (!this.blocks.has(this.newest.hash)) this.newest = this.r.exec;
  }
}
