import type { Codec, Core, Ctx, NodeId, WireReason } from './core.js';
import { WireError } from './core.js';
import type { Clock, Scheduler, Transport } from './transport.js';

/** What a driver reports about its traffic (the runtime binds this to Prometheus counters). */
export interface DriverObserver {
  received(bytes: number): void;
  sent(bytes: number, copies: number): void;
  rejected(reason: WireReason, detail: string): void;
}

export const silentObserver: DriverObserver = { received() {}, sent() {}, rejected() {} };

/**
 * Runs one core over a transport, a clock and a scheduler. The same driver serves the UDP
 * runtime (real clock, setTimeout) and the simulator (virtual clock, event queue), so what the
 * simulation tests exercise is the code that runs in a pod.
 */
export class Driver<M> implements Ctx<M> {
  private readonly timers = new Map<string, unknown>();
  private nowUs = 0;
  private stopped = false;

  constructor(
    private readonly core: Core<M>,
    private readonly codec: Codec<M>,
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    private readonly observer: DriverObserver = silentObserver,
  ) {}

  get now(): number {
    return this.nowUs;
  }

  start(): void {
    this.transport.onReceive((bytes) => this.onPacket(bytes));
    this.nowUs = this.clock.now();
    this.core.start(this);
  }

  /** Feeds an out-of-band command to the core (admin endpoint, runner, operator). */
  command(command: unknown): void {
    if (this.stopped || !this.core.command) return;
    this.nowUs = this.clock.now();
    this.core.command(this, command);
  }

  stop(): void {
    this.stopped = true;
    for (const handle of this.timers.values()) this.scheduler.cancel(handle);
    this.timers.clear();
    this.transport.close();
  }

  send(to: NodeId, msg: M): void {
    const bytes = this.codec.encode(msg);
    this.transport.send(to, bytes);
    this.observer.sent(bytes.length, 1);
  }

  multicast(to: readonly NodeId[], msg: M): void {
    if (to.length === 0) return;
    const bytes = this.codec.encode(msg);
    for (const dest of to) this.transport.send(dest, bytes);
    this.observer.sent(bytes.length, to.length);
  }

  setTimer(name: string, afterUs: number): void {
    const previous = this.timers.get(name);
    if (previous !== undefined) this.scheduler.cancel(previous);
    const handle = this.scheduler.schedule(Math.max(0, afterUs), () => {
      if (this.timers.get(name) !== handle || this.stopped) return;
      this.timers.delete(name);
      this.nowUs = this.clock.now();
      this.core.timer(this, name);
    }, name);
    this.timers.set(name, handle);
  }

  cancelTimer(name: string): void {
    const handle = this.timers.get(name);
    if (handle === undefined) return;
    this.scheduler.cancel(handle);
    this.timers.delete(name);
  }

  private onPacket(bytes: Uint8Array): void {
    if (this.stopped) return;
    this.observer.received(bytes.length);
    let msg: M;
    try {
      msg = this.codec.decode(bytes);
    } catch (err) {
      if (err instanceof WireError) {
        this.observer.rejected(err.reason, err.message);
        return;
      }
      throw err;
    }
    this.nowUs = this.clock.now();
    this.core.receive(this, msg);
  }
}
