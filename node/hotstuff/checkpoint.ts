import { encodeKvSnapshot, openKvState, type KvStore } from '../apps/kv.js';
import { equalBytes } from '../crypto/bytes.js';
import type { Ctx } from '../runtime/core.js';
import { blockHash, signCheckpoint, verifyCheckpoint } from './auth.js';
import { type Linked, hexOf } from './block-tree.js';
import type { Checkpoint, HotStuffMsg, StateReply } from './messages.js';
import type { HotStuffReplica } from './replica.js';

/** Every this many heights a replica signs a CHECKPOINT of its state. */
export const CHECKPOINT_INTERVAL = 16;
/** Our own states kept at checkpoint heights above the stable one, at the most. */
const MAX_STATES = 4;
/** Each replica's latest CHECKPOINTs kept (a liar's made-up heights push out only its own). */
const PER_REPLICA = 3;

interface Stable {
  height: number;
  hash: string;
  proof: Checkpoint[];
}

/**
 * Checkpoints and state transfer (docs/hotstuff.md#checkpoints-and-state-transfer): after
 * executing a block at a multiple of CHECKPOINT_INTERVAL, a replica signs (height, block hash,
 * state digest) and keeps a copy of the state. 2f+1 matching CHECKPOINTs make the checkpoint
 * stable: blocks below it are pruned. A replica behind it (lagging, partitioned, restarted with
 * empty state) takes the state at it; the state is vouched for by f+1 matching signed
 * CHECKPOINTs (one of them correct) and by the block, which must hash to what they sign.
 */
export class Checkpoints {
  stable: Stable = { height: 0, hash: '', proof: [] };
  /** Our own states at checkpoint heights not yet below the stable one. */
  private readonly states = new Map<number, { hash: string; store: KvStore }>();
  private readonly heard = new Map<number, Checkpoint[]>();
  private executedAtLastTick = -1;

  constructor(private readonly r: HotStuffReplica) {}

  /** A block was executed: at a checkpoint height, our state is kept and signed. */
  executed(ctx: Ctx<HotStuffMsg>, l: Linked): void {
    const r = this.r;
    const height = l.block.height;
    if (height % CHECKPOINT_INTERVAL !== 0 || r.n === 1) return;
    if (this.stable.height <= height) r.tree.dropBelow(this.stable.height);
    this.states.set(height, { hash: l.hash, store: r.store.clone() });
    // While no checkpoint gets stable (replicas down or behind), only the latest few states are kept.
    for (const h of this.states.keys()) if (h + MAX_STATES * CHECKPOINT_INTERVAL <= height && h !== this.stable.height) this.states.delete(h);
    const c = signCheckpoint({ type: 'checkpoint', height, batchHeight: r.lastBatch, replica: r.me, hash: Buffer.from(l.hash, 'hex'), digest: r.store.digest(), sig: new Uint8Array() }, r.p.keys);
    ctx.multicast(r.others(), c);
    this.record(c);
  }

  onSigned(_ctx: Ctx<HotStuffMsg>, c: Checkpoint): void {
    const r = this.r;
    if (c.replica >= r.n || c.replica === r.me || c.height % CHECKPOINT_INTERVAL !== 0) return r.obs.invalid('bad-checkpoint');
    if (c.height <= this.stable.height) return;
    if (!verifyCheckpoint(c, r.p.keys)) return r.obs.invalid('bad-signature');
    this.record(c);
  }

  private record(c: Checkpoint): void {
    const mine = (this.heard.get(c.replica) ?? []).filter((k) => k.height !== c.height);
    mine.push(c);
    mine.sort((a, b) => b.height - a.height);
    this.heard.set(c.replica, mine.slice(0, PER_REPLICA));
    const matching = this.matching(c);
    if (matching.length >= 2 * this.r.f + 1) this.makeStable({ height: c.height, hash: hexOf(c.hash), proof: matching });
  }

  /** The CHECKPOINTs heard that state what `c` states (one per replica). */
  private matching(c: Checkpoint): Checkpoint[] {
    const out: Checkpoint[] = [];
    for (const list of this.heard.values()) {
      const m = list.find((k) => k.height === c.height && k.batchHeight === c.batchHeight && equalBytes(k.hash, c.hash) && equalBytes(k.digest, c.digest));
      if (m) out.push(m);
    }
    return out;
  }

  private makeStable(s: Stable): void {
    if (s.height <= this.stable.height) return;
    this.stable = s;
    for (const h of this.states.keys()) if (h < s.height) this.states.delete(h);
    for (const [replica, list] of this.heard) this.heard.set(replica, list.filter((k) => k.height > s.height));
    // The stable block stays (it may be served with the state); what is below it goes.
    if (s.height <= this.r.exec.block.height) this.r.tree.dropBelow(s.height);
  }

  request(ctx: Ctx<HotStuffMsg>): void {
    if (this.r.n > 1) ctx.multicast(this.r.others(), { type: 'state-request', committed: this.r.exec.block.height, replica: this.r.me });
  }

  /** The retry period: behind the stable checkpoint and no progress since the last tick, we ask for the state. */
  tick(ctx: Ctx<HotStuffMsg>): void {
    const executed = this.r.exec.block.height;
    if (this.stable.height > executed && executed === this.executedAtLastTick) this.request(ctx);
    this.executedAtLastTick = executed;
  }

  /** Sends replica `to` the state at our stable checkpoint, if it is behind it and we hold it. */
  sendState(ctx: Ctx<HotStuffMsg>, to: number, committed: number): void {
    const r = this.r;
    const node = r.p.replicas[to];
    const state = this.states.get(this.stable.height);
    const block = r.tree.get(this.stable.hash);
    if (node === undefined || to === r.me || this.stable.height <= committed || !state || !block) return;
    ctx.send(node, { type: 'state-reply', replica: r.me, block, proof: this.stable.proof, snapshot: encodeKvSnapshot(state.store.snapshot()) });
  }

  /** Installs a state vouched for by f+1 matching signed CHECKPOINTs of its block. */
  onReply(ctx: Ctx<HotStuffMsg>, m: StateReply): void {
    const r = this.r;
    const height = m.block.height;
    if (height <= r.exec.block.height) return;
    const hash = blockHash(m.block);
    const good = m.proof.filter((c) => c.height === height && equalBytes(c.hash, hash) && c.replica < r.n);
    const first = good[0];
    const signers = new Set(good.filter((c) => first && equalBytes(c.digest, first.digest) && c.batchHeight === first.batchHeight && verifyCheckpoint(c, r.p.keys))
      .map((c) => c.replica));
    const digest = first?.digest;
    if (!digest || signers.size < r.f + 1) return r.obs.invalid('bad-state-certificate');
    const store = openKvState(m.snapshot, digest);
    if (typeof store === 'string') return r.obs.invalid(store);
    const l = { block: m.block, hash: hexOf(hash) };
    this.states.set(height, { hash: l.hash, store: store.clone() });
    r.obs.stateTransferred(height);
    r.safety.install(ctx, l, store, first!.batchHeight);
    if (signers.size >= 2 * r.f + 1) this.makeStable({ height, hash: l.hash, proof: m.proof });
  }
}
