import { encodeKvSnapshot, openKvState } from '../apps/kv.js';
import type { Ctx } from '../runtime/core.js';
import type { PbftMsg, StateReply } from './messages.js';
import { checkpointProven } from './new-view.js';
import type { PbftReplica } from './replica.js';

/**
 * State transfer (docs/pbft.md#checkpoints-and-state-transfer): a replica behind a stable
 * checkpoint, one that made no progress for a retry period while f+1 others checkpointed past
 * it, and one that starts (perhaps restarted with empty state) ask for the state at the others'
 * stable checkpoint; the answer carries the 2f+1 signed CHECKPOINTs, and the state is taken only
 * if its digest is theirs.
 */
export class StateTransfer {
  /** What was executed at the previous retry tick (none since then: no progress). */
  private executedAtLastTick = -1;

  constructor(private readonly r: PbftReplica) {}

  request(ctx: Ctx<PbftMsg>): void {
    ctx.multicast(this.r.others(), { type: 'state-request', seq: this.r.checkpoint.stable.seq, replica: this.r.me });
  }

  /** The retry period of a replica running its view: behind and stuck, it asks. */
  tick(ctx: Ctx<PbftMsg>): void {
    const r = this.r;
    if ((r.checkpoint.stable.seq > r.executed || r.checkpoint.pastUs()) && r.executed === this.executedAtLastTick) this.request(ctx);
    this.executedAtLastTick = r.executed;
  }

  onRequest(ctx: Ctx<PbftMsg>, seq: number, replica: number): void {
    const { stable } = this.r.checkpoint;
    const snapshot = this.r.checkpoint.stableState();
    const to = this.r.p.replicas[replica];
    if (stable.seq < seq || !snapshot || to === undefined) return;
    ctx.send(to, { type: 'state-reply', seq: stable.seq, replica: this.r.me, checkpoint: stable.proof, snapshot: encodeKvSnapshot(snapshot.snapshot()) });
  }

  /** Installs a state vouched for by 2f+1 CHECKPOINTs, once it has their digest. */
  onReply(ctx: Ctx<PbftMsg>, m: StateReply): void {
    const r = this.r;
    if (m.seq <= r.executed) return;
    const s = checkpointProven(m.checkpoint, r.f, r.p.keys);
    if (!s || s.seq !== m.seq || s.proof.length === 0) return r.obs.invalid('bad-state-certificate');
    const store = openKvState(m.snapshot, s.digest);
    if (typeof store === 'string') return r.obs.invalid(store);
    r.store = store;
    r.executed = m.seq;
    r.seq = Math.max(r.seq, m.seq);
    r.checkpoint.keep(m.seq, store);
    r.obs.stateTransferred(m.seq);
    r.checkpoint.makeStable(ctx, s);
    r.log.dropThrough(m.seq);
    r.normal.execute(ctx);
    r.viewChange.releaseAnswered(ctx);
  }
}
