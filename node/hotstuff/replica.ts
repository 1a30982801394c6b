import { KvStore } from '../apps/kv.js';
import { type Handlers, dispatch } from '../runtime/handlers.js';
import { leaderOf } from '../protocol/leader.js';
import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { GENESIS, GENESIS_HASH } from './auth.js';
import { BlockTree, hexOf } from './block-tree.js';
import { Checkpoints } from './checkpoint.js';
import type { Block, HotStuffMsg } from './messages.js';
import { Pacemaker } from './pacemaker.js';
import type { HotStuffObserver, HotStuffReplicaParams } from './replica-params.js';
import { Safety } from './safety.js';

export type { HotStuffObserver, HotStuffReplicaParams, HotStuffViewChangeReason } from './replica-params.js';
export { CHECKPOINT_INTERVAL } from './checkpoint.js';

/**
 * Consecutive views each leader leads. The three-chain commit needs a QC over three blocks of
 * consecutive views, carried in the block of the next view: four views in a row with a working
 * leader. Rotating every view, one crashed replica of four would leave no such run, and nothing
 * would ever commit; a run of four views per leader commits within each working leader's run,
 * and a faulty leader costs one timed-out view per rotation (its whole run is skipped).
 */
export const LEADER_RUN = 4;

/**
 * A chained HotStuff replica (PODC'19 §5, Algorithm 3; the protocol as implemented is
 * docs/hotstuff.md). Leaders rotate round-robin, each leading LEADER_RUN consecutive views.
 *
 * This class is the host: it owns the key-value store and the last executed block,
 * and hands each message type to one handler. Each part is a file that owns its state:
 * - block-tree.ts: the blocks known, fetching missing ones by hash (BLOCK-FETCH, BLOCK-REPLY), pruning;
 * - safety.ts: the replica's rules: proposal checks, safeNode and the vote, the lock, the three-chain commit, execution;
 * - pacemaker.ts: views and their timer, NEW-VIEW, the leader's vote collection into QCs, batching and proposing;
 * - checkpoint.ts: signed CHECKPOINTs of the state, the stable checkpoint, state transfer.
 */
export class HotStuffReplica implements Core<HotStuffMsg> {
  store = new KvStore();
  /** The last executed (committed) block and its hash. */
  exec: { block: Block; hash: string } = { block: GENESIS, hash: hexOf(GENESIS_HASH) };
  /** The height of the last executed block that executed a request (not only answered retries). */
  lastBatch = 0;
  readonly tree: BlockTree;
  readonly safety: Safety;
  readonly pacemaker: Pacemaker;
  readonly checkpoints: Checkpoints;
  private readonly handlers: Handlers<HotStuffMsg>;

  constructor(readonly p: HotStuffReplicaParams, readonly obs: HotStuffObserver) {
    this.tree = new BlockTree(this);
    this.safety = new Safety(this);
    this.pacemaker = new Pacemaker(this);
    this.checkpoints = new Checkpoints(this);
    this.handlers = this.handlerTable();
  }

  get me(): number {
    return this.p.index;
  }

  get f(): number {
    return this.p.f;
  }

  get currentView(): number {
    return this.pacemaker.view;
  }

  /**
   * The height of the last executed block with requests, and the key-value contents (to compare
   * replicas in tests; a replica that missed the last empty blocks, which only drove the commit,
   * has executed the same).
   */
  get progressState(): { executed: number; contents: string } {
    return { executed: this.lastBatch, contents: JSON.stringify(this.store.snapshot().data) };
  }

  /** The hash (hex) of the block this replica committed at `height`, while it remembers it. */
  committedHash(height: number): string | undefined {
    return this.tree.committedAt(height);
  }

  debugLog(): string {
    const s = this.safety;
    return `view=${this.view} exec=${this.exec.block.height} qcHigh=${s.qcHigh.view} lock=${s.lock.view} voted=${s.lastVoted} ${this.tree.describe()} ${this.pacemaker.describe()}`;
  }

  /** The view this replica runs (the pacemaker moves it). */
  get view(): number {
    return this.pacemaker.view;
  }

  get n(): number {
    return this.p.replicas.length;
  }

  /** The leader of `view`: replicas take turns, round-robin, each leading LEADER_RUN consecutive views (docs/hotstuff.md#leaders). */
  leaderOf(view: number): number {
    return leaderOf(Math.floor(view / LEADER_RUN), this.n);
  }

  /** The first view of the next leader's run after `view` (where a timed-out view moves to). */
  nextLeaderView(view: number): number {
    return (Math.floor(view / LEADER_RUN) + 1) * LEADER_RUN;
  }

  others(): NodeId[] {
    return this.p.replicas.filter((_, i) => i !== this.me);
  }

  start(ctx: Ctx<HotStuffMsg>): void {
    ctx.setTimer('retry', this.p.retryUs);
    this.pacemaker.start(ctx);
    // Perhaps restarted with empty state: the others' stable checkpoint, if they have one.
    this.checkpoints.request(ctx);
  }

  receive(ctx: Ctx<HotStuffMsg>, m: HotStuffMsg): void {
    dispatch(this.handlers, ctx, m);
  }

  /** The timers: the leader's batch delay, the view timer, the retry period (docs/hotstuff.md#pacemaker). */
  private readonly timers: Record<string, (ctx: Ctx<HotStuffMsg>) => void> = {
    batch: (ctx) => this.pacemaker.onBatchTimer(ctx),
    view: (ctx) => this.pacemaker.onTimeout(ctx),
    retry: (ctx) => {
      ctx.setTimer('retry', this.p.retryUs);
      this.pacemaker.tick(ctx);
      this.tree.tick(ctx);
      this.checkpoints.tick(ctx);
    },
  };

  timer(ctx: Ctx<HotStuffMsg>, name: string): void {
    this.timers[name]?.(ctx);
  }

  private handlerTable(): Handlers<HotStuffMsg> {
    const { safety, pacemaker, tree, checkpoints } = this;
    return {
      request: (ctx, m) => pacemaker.onRequest(ctx, m.payload),
      proposal: (ctx, m) => safety.onProposal(ctx, m),
      vote: (ctx, m) => pacemaker.onVote(ctx, m),
      'new-view': (ctx, m) => pacemaker.onNewView(ctx, m),
      reply: () => {},
      'block-fetch': (ctx, m) => tree.onFetch(ctx, m),
      'block-reply': (ctx, m) => tree.onBlockReply(ctx, m),
      checkpoint: (ctx, m) => checkpoints.onSigned(ctx, m),
      'state-request': (ctx, m) => checkpoints.sendState(ctx, m.replica, m.committed),
      'state-reply': (ctx, m) => checkpoints.onReply(ctx, m),
    };
  }
}
