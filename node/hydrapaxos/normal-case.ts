import type { Delivery } from '../hydra/receiver.js';
import { clientNode } from '../hydra/topology.js';
import type { Ctx } from '../runtime/core.js';
import type { HydraPaxosMsg, LogEntry, SlotId } from './messages.js';
import { ReleaseBuffer } from './release-buffer.js';
import type { HydraPaxosReplica } from './replica.js';

/** Deliveries a recovering replica keeps at most until it knows where its log stands. */
const HELD_LIMIT = 1_000_000;

/**
 * The normal case (docs/hydrapaxos.md#log-and-execution; NOPaxos's normal operation, with Hydra as the ordered unreliable multicast): each Hydra
 * delivery takes its slot in the release buffer, which lets messages into the log in Hydra's
 * order once nothing before them is missing; a drop notification's slot waits there for gap
 * agreement. Every replica executes what it logs; it replies to the client, and only the
 * leader's reply carries the result.
 */
export class NormalCase {
  /** Deliveries from the embedded Hydra receiver, not yet taken. */
  inbox: Delivery[] = [];
  /** Deliveries taken while recovering, replayed once the replica knows where its log stands. */
  held: Delivery[] = [];
  buffer = new ReleaseBuffer();

  constructor(private readonly r: HydraPaxosReplica) {}

  /** Takes the receiver's new deliveries into the log (or holds them while recovering). */
  take(ctx: Ctx<HydraPaxosMsg>): void {
    if (this.inbox.length === 0) {
      // Hydra's delivery point may have moved past a recovered message without delivering anything.
      if (this.r.status !== 'recovering' && this.buffer.size > 0) this.drain(ctx);
      return;
    }
    const batch = this.inbox;
    this.inbox = [];
    if (this.r.status === 'recovering') {
      // Kept until we know where the log stands; a state transfer skips what it covers.
      if (this.held.length + batch.length <= HELD_LIMIT) this.held.push(...batch);
      return;
    }
    for (const d of batch) this.onDelivery(ctx, d);
    this.drain(ctx);
  }

  /** Takes every delivery still pending (held while recovering, and new ones): a state transfer is done. */
  takeAll(): Delivery[] {
    const deliveries = [...this.held, ...this.inbox];
    this.held = [];
    this.inbox = [];
    return deliveries;
  }

  /** Replays the deliveries held while recovering. */
  replayHeld(ctx: Ctx<HydraPaxosMsg>): void {
    const held = this.held;
    this.held = [];
    for (const d of held) this.onDelivery(ctx, d);
    this.drain(ctx);
  }

  onDelivery(ctx: Ctx<HydraPaxosMsg>, d: Delivery): void {
    const slot: SlotId = d.kind === 'message'
      ? { sequencer: d.msg.sequencer, epoch: d.epoch, seq: d.seq }
      : { sequencer: d.sequencer, epoch: d.epoch, seq: d.seq };
    if (this.r.log.decided(slot)) return;
    if (d.kind === 'message') {
      this.admit(ctx, { slot, clock: d.msg.clock, groups: d.msg.groups, stamps: d.msg.stamps, request: d.msg.payload });
      return;
    }
    if (this.buffer.get(slot)) return;
    this.buffer.dropped(slot);
    if (this.r.p.unsafeLocalNoops) this.r.gaps.applyNoop(ctx, slot);
    else this.r.gaps.start(ctx, slot);
  }

  /**
   * A message for one of our slots (delivered, or recovered): into the release buffer, or, at
   * the leader of a HydraTxn shard, set aside while a hold covers it (cross-shard-holds.ts).
   */
  admit(ctx: Ctx<HydraPaxosMsg>, e: LogEntry): void {
    if (this.r.txn.setAside(ctx, e)) return;
    if (this.buffer.isWaiting(e.slot)) this.buffer.recovered(e);
    else this.buffer.delivered(e);
  }

  /** Logs what the release buffer lets go up to Hydra's delivery point; then a SYNC held that far is acknowledged. */
  drain(ctx: Ctx<HydraPaxosMsg>): void {
    this.buffer.reached(this.r.receiver.deliveredThrough);
    for (const e of this.buffer.drain()) this.execute(ctx, e, true);
    this.r.sync.acknowledgeIfHeld(ctx);
  }

  /** Appends and executes an entry (never twice); with `reply`, a normal replica answers the client. */
  execute(ctx: Ctx<HydraPaxosMsg>, e: LogEntry, reply: boolean): void {
    const r = this.r;
    if (r.log.holds(e.slot)) return;
    const exec = r.log.append(e);
    if (!reply || r.status !== 'normal' || !exec || exec.result === null) return;
    ctx.send(clientNode(exec.client), {
      type: 'px-reply', view: r.view, group: r.p.group, replica: r.me, client: exec.client, requestId: exec.requestId,
      slot: e.slot, result: r.isLeader || r.p.unsafeLocalNoops ? exec.result : null,
    });
  }
}
