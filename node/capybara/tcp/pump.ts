import type { Ctx, NodeId } from '../../runtime/core.js';
import type { TcpPacket } from './packet.js';
import type { TcpStack } from './stack.js';

/**
 * Connects a TcpStack to a core's Ctx: after each input the core calls `run`, which transmits
 * what the stack has due, sends its packets where `route` says, and keeps one timer armed at the
 * stack's next deadline (re-armed only when that deadline moves).
 */
export class StackPump<M> {
  private armedAt: number | null = null;

  constructor(
    private readonly stack: TcpStack,
    private readonly route: (packet: TcpPacket) => NodeId,
    private readonly wrap: (packet: TcpPacket) => M,
    readonly timerName = 'tcp',
  ) {}

  run(ctx: Ctx<M>): void {
    this.stack.flush(ctx.now);
    for (const p of this.stack.outbox()) ctx.send(this.route(p), this.wrap(p));
    const at = this.stack.nextDeadline();
    if (at === this.armedAt) return;
    this.armedAt = at;
    if (at === null) ctx.cancelTimer(this.timerName);
    else ctx.setTimer(this.timerName, at - ctx.now);
  }

  /** The stack's timer fired: run its connections' timers, then pump. */
  fire(ctx: Ctx<M>): void {
    this.armedAt = null;
    this.stack.timers(ctx.now);
  }
}
