import { hydraCodec } from '../hydra/codec.js';
import type { Config } from '../hydra/messages.js';
import type { StateMachine } from '../apps/state-machine.js';
import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { type HydraPaxosMsg, type PxState, entryKey, keyBefore } from './messages.js';
import type { HydraPaxosReplica } from './replica.js';

/**
 * State transfer (docs/hydrapaxos.md#state-transfer; NOPaxos's replica recovery, here by copying a peer's state):
 * a booting replica asks its peers; f empty answers mean nothing ever happened (with at most f
 * failures), otherwise it adopts a peer's state at its sync point plus its log since, and jumps
 * its Hydra receiver there. A replica whose peers have truncated what it misses does the same.
 * A restarted leader hands over to the next view.
 */
export class StateTransfer {
  /**
   * The state request outstanding: when, its nonce, the peers that answered they never had state,
   * and whether it repairs a log that skipped slots (any state is then taken, even one that ends
   * before our log).
   */
  private wanted: { at: number; nonce: number; empties: Votes; anyEmpties: Votes; repair: boolean } | null = null;

  constructor(private readonly r: HydraPaxosReplica) {}

  /**
   * Asks `from` (or every peer) for its state, unless a request is recent; `retry` asks every peer
   * again; `repair`: our log lacks slots the leader has (Synchronization.acknowledgeIfHeld).
   */
  request(ctx: Ctx<HydraPaxosMsg>, from: number | null, retry = false, repair = false): void {
    const r = this.r;
    const w = this.wanted;
    if (w && !retry && ctx.now - w.at < r.p.stateRetryUs && (w.repair || !repair)) return;
    this.wanted = { at: ctx.now, nonce: ++r.nonce, empties: new Votes(r.f), anyEmpties: new Votes(r.n - 1), repair: repair || (retry && !!w?.repair) };
    const m = { type: 'px-state-request' as const, replica: r.me, nonce: this.wanted.nonce };
    if (from !== null && !retry) ctx.send(r.p.replicas[from]!, m);
    else ctx.multicast(r.peers(), m);
  }

  tick(ctx: Ctx<HydraPaxosMsg>): void {
    if (this.wanted && ctx.now - this.wanted.at >= this.r.p.stateRetryUs) this.request(ctx, null, true);
  }

  onRequest(ctx: Ctx<HydraPaxosMsg>, replica: number, nonce: number): void {
    const r = this.r;
    const to = r.p.replicas[replica];
    if (to === undefined || replica === r.me) return;
    if (!r.log.hadState && r.view === 0) {
      ctx.send(to, { type: 'px-state-empty', replica: r.me, nonce, recovering: r.status === 'recovering' });
      return;
    }
    if (r.status === 'recovering') return;
    const m: PxState = {
      type: 'px-state', replica: r.me, nonce, view: r.view, normal: r.status === 'normal',
      config: hydraCodec.encode(r.receiver.configuration), store: r.log.storeAtSync().snapshot(), log: r.viewChange.logState(),
    };
    r.sendBulk(ctx, [to], m);
  }

  /**
   * A peer has no state: with f such answers from replicas running normally, or from all n-1
   * peers, nothing ever happened. A peer still recovering itself may have lost its state (it
   * restarted too, and is cut off from the rest): its "empty" proves nothing alone, else two
   * restarted replicas would vouch for each other and start empty while a third holds the
   * group's state. Only when every peer answers (the group booting) do they agree on empty.
   */
  onEmpty(ctx: Ctx<HydraPaxosMsg>, replica: number, nonce: number, recovering: boolean): void {
    const w = this.wanted;
    if (this.r.status !== 'recovering' || w?.nonce !== nonce) return;
    if (!recovering) w.empties.add(replica, true);
    w.anyEmpties.add(replica, true);
    if (w.empties.reached || w.anyEmpties.reached) this.startFresh(ctx);
  }

  startFresh(ctx: Ctx<HydraPaxosMsg>): void {
    const r = this.r;
    this.wanted = null;
    r.status = 'normal';
    r.heardLeaderAt = ctx.now;
    r.normal.replayHeld(ctx);
  }

  onState(ctx: Ctx<HydraPaxosMsg>, m: PxState): void {
    const r = this.r;
    const w = this.wanted;
    if (!w || m.nonce !== w.nonce || m.view < r.view) return;
    if (r.status !== 'recovering' && !w.repair && !keyBefore(r.log.end, m.log.end.key)) {
      this.wanted = null;
      return;
    }
    let config: Config;
    let store: StateMachine;
    try {
      const c = hydraCodec.decode(m.config);
      if (c.type !== 'config') throw new WireError('bad-field', `state carries a ${c.type} where a configuration belongs`);
      config = c;
      store = r.p.app.restore(m.store);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      r.obs.rejected(`state-${e.reason}`);
      return;
    }
    this.install(ctx, m, config, store);
  }

  /** Adopts a peer's state: its store and log, its Hydra configuration and delivery point; then rejoins its view. */
  private install(ctx: Ctx<HydraPaxosMsg>, m: PxState, config: Config, store: StateMachine): void {
    const r = this.r;
    const wasRecovering = r.status === 'recovering';
    this.wanted = null;
    r.txn.heldEntries.clear();
    for (const h of m.log.holds) r.txn.holds.set(h);
    // What we logged past the peer's end stays ours to log again: our receiver will not deliver it
    // twice (as what our release buffer holds past it), and dropping it would leave a hole.
    const beyond = r.log.list().filter((e) => keyBefore(m.log.end.key, entryKey(e)));
    r.log.replace(store, m.log);
    r.obs.stateTransferred();
    r.normal.buffer.rebase(r.log.end, (s) => r.log.decided(s));
    r.normal.buffer.reinsert(beyond.filter((e) => !r.log.decided(e.slot)), [], r.log.end);
    r.receiver.resume(ctx, config, m.log.end.streams, r.log.end);
    const deliveries = r.normal.takeAll();
    const view = m.view;
    const rejoining = r.status === 'view-change' && r.leaderOf(r.view) === r.me && r.view >= view;
    if (rejoining) {
      for (const d of deliveries) r.normal.onDelivery(ctx, d);
      r.normal.drain(ctx);
      r.viewChange.tryComplete(ctx);
      return;
    }
    r.view = view;
    r.status = 'normal';
    r.lastNormal = view;
    r.heardLeaderAt = ctx.now;
    r.gaps.clear();
    for (const d of deliveries) r.normal.onDelivery(ctx, d);
    r.txn.retractHeld();
    r.normal.drain(ctx);
    for (const slot of r.normal.buffer.waiting()) r.gaps.start(ctx, slot);
    if (!m.normal || (wasRecovering && r.leaderOf(view) === r.me)) {
      // Its view was changing, or we led it before we lost our state: move on to the next view.
      r.viewChange.start(ctx, view + 1, wasRecovering ? 'recovered-leader' : 'peer-request');
    }
  }
}
