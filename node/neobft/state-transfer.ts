import { encodeKvSnapshot, openKvState } from '../apps/kv.js';
import type { Ctx } from '../runtime/core.js';
import type { NeoMsg } from './messages.js';
import type { StateReply } from './protocol-messages.js';
import type { Replica } from './replica.js';
import { checkSyncCert } from './view-change-merge.js';

/**
 * State transfer (docs/neobft.md#state-transfer): a replica whose log lacks what the others
 * compacted (a final point past what it can execute) takes a peer's state at that peer's sync
 * point, checked against the 2f+1 signed SYNCs that name its digest (PBFT's checkpoints).
 */
export class StateTransfer {
  /** A final point past what we can execute (the slots before it are compacted elsewhere): state transfer wanted. */
  wanted = 0;
  private askedAt = -Infinity;

  constructor(private readonly r: Replica) {}

  want(slot: number): void {
    this.wanted = Math.max(this.wanted, slot);
  }

  /** Asks at once (a rejoining replica's first request). */
  askNow(ctx: Ctx<NeoMsg>, slot: number): void {
    this.wanted = slot;
    this.askedAt = -Infinity;
    this.ask(ctx);
  }

  ask(ctx: Ctx<NeoMsg>): void {
    const r = this.r;
    if (this.wanted <= r.log.executed || ctx.now - this.askedAt < 4 * r.p.retryUs) return;
    this.askedAt = ctx.now;
    ctx.multicast(r.others(), { type: 'state-request', replica: r.p.index, executed: r.log.executed });
  }

  /** Our state at our sync point, with the SYNC certificate that names its digest. */
  onRequest(ctx: Ctx<NeoMsg>, replica: number, executed: number): void {
    const r = this.r;
    if (replica >= r.p.replicas.length || replica === r.p.index || r.sync.point <= executed || r.sync.cert.length === 0) return;
    const snapshot = encodeKvSnapshot(r.log.stateAt(r.sync.point).snapshot());
    ctx.send(r.p.replicas[replica]!, { type: 'state-reply', replica: r.p.index, cert: r.sync.cert, snapshot });
  }

  /**
   * A final point past ours, with the state there: one replica's copy is checked against the
   * certificate. Taken only within our epoch (a later one is joined by its view change first).
   */
  onReply(ctx: Ctx<NeoMsg>, m: StateReply): void {
    const r = this.r;
    const log = r.log;
    const point = checkSyncCert(m.cert, r.checkEnv());
    if (typeof point === 'string' || point.slot === 0) return r.obs.invalid('bad-state-certificate');
    // Rejoining, the epoch moved on since the recovery round: ask again.
    if (r.recovery.awaitingState && point.epoch > r.view.epoch) return r.recovery.start(ctx);
    if (point.slot <= log.executed || point.epoch > r.view.epoch) return;
    const store = openKvState(m.snapshot, m.cert[0]!.stateDigest);
    if (typeof store === 'string') return r.obs.invalid(store);
    // Everything up to the point is final and in that state: what we held of it goes.
    for (let s = log.executed + 1; s <= point.slot; s++) delete log.slots[s];
    log.dropUndo(log.executed);
    log.store = store;
    log.hashes.length = point.slot;
    log.hashes[point.slot] = point.hash;
    log.executed = point.slot;
    for (const slot of [...log.missing]) if (slot <= point.slot) log.resolved(slot);
    // Nothing at or below the point is open any more (not even the interval a laggard would want from us).
    r.compact(point.slot);
    this.wanted = 0;
    r.obs.stateTransferred(point.slot);
    r.sync.finalize(ctx, point.slot, m.cert, point.epoch);
    if (point.epoch === r.aomEpoch) r.aom.skipTo(ctx, point.slot - r.epochStarts.get(point.epoch)!);
    log.execute(ctx);
    if (r.recovery.awaitingState) r.recovery.rejoined(ctx);
  }
}
