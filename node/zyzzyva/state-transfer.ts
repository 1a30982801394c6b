import { encodeKvSnapshot, openKvState } from '../apps/kv.js';
import type { Ctx } from '../runtime/core.js';
import { WINDOW } from './agreement.js';
import { checkpointProven } from './checkpoint.js';
import type { StateReply, StateRequest, ZyzzyvaMsg } from './messages.js';
import type { ZyzzyvaReplica } from './replica.js';

/**
 * State transfer (docs/zyzzyva.md#checkpoints-and-state-transfer): a replica that starts
 * (perhaps restarted with empty state), one behind a stable checkpoint or stuck while f+1
 * others checkpointed past it, and one whose history left a proven checkpoint's (it diverged
 * under a faulty primary) ask for the state at the others' stable checkpoint; the answer carries
 * the 2f+1 CHECKPOINTs vouching for its digest and h_n, and the history restarts there.
 */
export class StateTransfer {
  private topAtLastTick = -1;

  constructor(private readonly r: ZyzzyvaReplica) {}

  request(ctx: Ctx<ZyzzyvaMsg>): void {
    if (this.r.n > 1) ctx.multicast(this.r.others(), { type: 'state-request', seq: this.r.checkpoint.stable.seq, replica: this.r.me });
  }

  tick(ctx: Ctx<ZyzzyvaMsg>): void {
    const r = this.r;
    const { stable } = r.checkpoint;
    // Behind the stable checkpoint, or holding another history at it (diverged under a faulty primary).
    const behind = stable.seq > r.history.top || (stable.seq >= r.history.base.seq && !r.history.matches(stable.seq, stable.history));
    if ((behind || r.checkpoint.pastUs()) && r.history.top === this.topAtLastTick) this.request(ctx);
    this.topAtLastTick = r.history.top;
  }

  onRequest(ctx: Ctx<ZyzzyvaMsg>, m: StateRequest): void {
    const r = this.r;
    const { stable } = r.checkpoint;
    const snapshot = r.checkpoint.stableState();
    const to = r.p.replicas[m.replica];
    if (stable.seq < m.seq || stable.seq === 0 || !snapshot || to === undefined || m.replica === r.me) return;
    ctx.send(to, { type: 'state-reply', seq: stable.seq, replica: r.me, checkpoint: stable.proof, snapshot: encodeKvSnapshot(snapshot.snapshot()) });
  }

  /** Installs a state vouched for by 2f+1 CHECKPOINTs unless our history already holds it. */
  onReply(ctx: Ctx<ZyzzyvaMsg>, m: StateReply): void {
    const r = this.r;
    const h = m.checkpoint[0]?.history;
    if (m.seq < r.history.base.seq || (h && r.history.matches(m.seq, h))) return;
    const s = checkpointProven(m.checkpoint, r.f, r.p.keys);
    if (!s || s.seq !== m.seq) return r.obs.invalid('bad-state-certificate');
    const store = openKvState(m.snapshot, s.digest);
    if (typeof store === 'string') return r.obs.invalid(store);
    r.store = store;
    r.history.reset(s.seq, s.history, s.proof);
    r.agreement.forgetAbove(-1);
    r.agreement.dropEarly(s.seq);
    r.checkpoint.forgetAbove(s.seq);
    r.checkpoint.keep(s.seq, store);
    r.obs.stateTransferred(s.seq);
    r.checkpoint.makeStable(ctx, s);
    // We hold that state now and sign it too: replicas short of 2f+1 matching CHECKPOINTs for it
    // (a Byzantine signer lied to them) commit it with ours, and answer their clients.
    r.checkpoint.take(ctx);
    r.commit.advance(s.seq, s.history, []);
    r.viewChange.stateTaken(ctx);
    r.agreement.drain(ctx);
    // What was ordered past the state: the primary has it (nothing may come to show us the hole).
    if (r.active) r.agreement.fillHole(ctx, r.history.top + WINDOW);
  }
}
