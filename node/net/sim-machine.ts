import type { NodeId } from '../runtime/core.js';
import { invariant } from '../protocol/invariant.js';

/**
 * What a simulated member's machine spends on datagrams. The simulator stays protocol-agnostic:
 * a cost is a function of the bytes (a calibration classifies them with the member's codec).
 */
export interface CostModel {
  /** Inputs served at once (≥ 1): the machine's cores, or with `host` the member's threads. */
  cores: number;
  /** CPU µs to take one received datagram in: socket read, decode, authentication, handler, encoding its outputs. */
  receiveUs(bytes: Uint8Array): number;
  /** CPU µs to hand one datagram to the network (the socket write), charged to the sender. */
  sendUs(bytes: Uint8Array): number;
  /** CPU µs a timer's handler takes, by the timer's name (unset: timers are free). */
  timerUs?(name: string): number;
  /**
   * CPU µs to take up an input or timer after not running: it found the member with no work (its
   * process asleep in epoll) or a core that last ran another member (switched in). The scheduler,
   * cold caches, an event-loop turn and what the runtime does per turn; 0 unless set.
   */
  wakeUs?: number;
  /** At most this many received datagrams are held (waiting, in service, or served but not yet handled); more are dropped, as from a full receive buffer. */
  queueLimit: number;
  /** A machine shared with other members (e.g. every process of a loopback testbed on this machine's cores); unset: a machine of its own. */
  host?: SimHost;
}

/**
 * Cores that members take work to, first come first served (the OS scheduler, idealised: no
 * preemption). A member without a host has one of its own. A grant says whether the core last
 * ran another member (a context switch: the member's process is switched in).
 */
export class SimHost {
  /** The member each idle core last ran (null: none yet). */
  private readonly free: (object | null)[];
  private readonly waiting: { who: object; grant: (switched: boolean) => void }[] = [];

  constructor(readonly cores: number) {
    invariant(Number.isInteger(cores) && cores >= 1, 'sim-host-cores', () => `cores ${cores}`);
    this.free = Array.from({ length: cores }, () => null);
  }

  /** Calls `grant` when a core is free for `who` (at once if one is; a core it last ran first). */
  acquire(who: object, grant: (switched: boolean) => void): void {
    if (this.free.length === 0) {
      this.waiting.push({ who, grant });
      return;
    }
    const own = this.free.indexOf(who);
    const [last] = this.free.splice(own >= 0 ? own : 0, 1);
    grant(last !== who);
  }

  release(who: object): void {
    const next = this.waiting.shift();
    if (next) {
      next.grant(next.who !== who);
      return;
    }
    this.free.push(who);
    invariant(this.free.length <= this.cores, 'sim-host-idle', () => `${this.free.length} idle of ${this.cores} cores`);
  }
}

/** What a machine does when work completes; the network supplies virtual time and the wire. */
export interface MachineEnv {
  now(): number;
  at(time: number, fn: () => void): void;
  /** Hands a served datagram to the member's protocol core. */
  handle(bytes: Uint8Array): void;
  /** Puts a datagram whose send cost is paid onto the wire. */
  transmit(to: NodeId, bytes: Uint8Array): void;
}

/** A received datagram or a due timer (both handled by the core, in order), or a datagram to send. */
type Work =
  | { kind: 'in'; seq: number; bytes: Uint8Array; woke: boolean }
  | { kind: 'timer'; seq: number; name: string; run: () => void; live: () => boolean; woke: boolean }
  | { kind: 'out'; to: NodeId; bytes: Uint8Array };
type Handled = Extract<Work, { seq: number }>;

/**
 * A member's CPU: its work taken FIFO, outputs ahead of inputs (a handler's sends leave in the
 * same event-loop turn, before the next datagram is read, as in the UDP runtime), on up to
 * `cores` cores of its own machine or of a shared host. Inputs are served in parallel on k
 * cores, but the core is a sequential state machine: a served input is handed to it only after
 * every earlier input was, so handler calls keep arrival order (the parallel part stands for
 * decoding and verification, the part a multi-core member spreads). docs/model.md says more.
 */
export class SimMachine {
  private readonly host: SimHost;
  private inService = 0;
  /** Whether it waits for a core of its host. */
  private asking = false;
  private readonly inputs: Work[] = [];
  private readonly outputs: Work[] = [];
  /** Served inputs waiting for an earlier one to be handled, by arrival number. */
  private readonly served = new Map<number, Handled>();
  private nextSeq = 0;
  private nextHandled = 0;
  /** Inputs accepted and not handled yet. */
  private held = 0;
  /** Bumped by `reset`: work scheduled before a crash finishes into nothing. */
  private life = 0;
  /** CPU µs spent, summed over cores. */
  busyUs = 0;
  overflowed = 0;
  /** Inputs and live timers taken up after not running (see CostModel.wakeUs). */
  wakeups = 0;

  constructor(readonly model: CostModel, private readonly env: MachineEnv) {
    invariant(Number.isInteger(model.cores) && model.cores >= 1, 'sim-machine-cores', () => `cores ${model.cores}`);
    invariant(model.queueLimit >= 1, 'sim-machine-queue-limit', () => `queueLimit ${model.queueLimit}`);
    this.host = model.host ?? new SimHost(model.cores);
  }

  /** Takes a datagram in; false when the backlog is full (it is dropped). */
  receive(bytes: Uint8Array): boolean {
    if (this.held >= this.model.queueLimit) {
      this.overflowed++;
      return false;
    }
    this.held++;
    this.inputs.push({ kind: 'in', seq: this.nextSeq++, bytes, woke: this.wakes() });
    this.pump();
    return true;
  }

  /** Sends a datagram once a core has paid its send cost; a free send with nothing queued leaves at once. */
  send(to: NodeId, bytes: Uint8Array): void {
    if (this.outputs.length === 0 && this.model.sendUs(bytes) === 0) {
      this.env.transmit(to, bytes);
      return;
    }
    this.outputs.push({ kind: 'out', to, bytes });
    this.pump();
  }

  /**
   * A timer fell due: with `timerUs` in the model its handler waits its turn behind the inputs
   * already queued and runs once a core has spent its cost (skipped if `live` no longer holds
   * when a core takes it: the timer was cancelled); without, it runs at once.
   */
  timer(name: string, run: () => void, live: () => boolean): void {
    if (!this.model.timerUs) {
      run();
      return;
    }
    this.inputs.push({ kind: 'timer', seq: this.nextSeq++, name, run, live, woke: this.wakes() });
    this.pump();
  }

  /** Whether work arriving now finds the member with none (nothing queued, in service or waiting for a core). */
  private wakes(): boolean {
    return this.inService === 0 && !this.asking && this.inputs.length === 0 && this.outputs.length === 0 && this.served.size === 0;
  }

  /** Drops all queued and in-service work (the member crashed). */
  reset(): void {
    this.life++;
    this.asking = false;
    this.inputs.length = 0;
    this.outputs.length = 0;
    this.served.clear();
    this.nextHandled = this.nextSeq;
    this.held = 0;
    for (; this.inService > 0; this.inService--) this.host.release(this);
  }

  /** Asks the host for a core while there is work and a thread free; one request at a time keeps the host's queue fair. */
  private pump(): void {
    if (this.asking || this.inService >= this.model.cores || (this.outputs.length === 0 && this.inputs.length === 0)) return;
    this.asking = true;
    const life = this.life;
    this.host.acquire(this, (switched) => {
      if (life === this.life) this.asking = false;
      const work = life === this.life ? this.outputs.shift() ?? this.inputs.shift() : undefined;
      if (!work) {
        this.host.release(this);
        return;
      }
      this.start(work, switched);
      this.pump();
    });
  }

  private start(work: Work, switched: boolean): void {
    const cost = this.cost(work, switched);
    invariant(Number.isFinite(cost) && cost >= 0, 'sim-machine-cost', () => `${work.kind} cost ${cost} µs`);
    this.inService++;
    this.busyUs += cost;
    const life = this.life;
    this.env.at(this.env.now() + cost, () => {
      if (life === this.life) this.finish(work);
    });
  }

  private cost(work: Work, switched: boolean): number {
    if (work.kind === 'out') return this.model.sendUs(work.bytes);
    // A cancelled timer never woke the process.
    const live = work.kind === 'in' || work.live();
    const woken = live && (work.woke || switched);
    if (woken) this.wakeups++;
    const wake = woken ? this.model.wakeUs ?? 0 : 0;
    return wake + (work.kind === 'in' ? this.model.receiveUs(work.bytes) : live ? this.model.timerUs!(work.name) : 0);
  }

  private finish(work: Work): void {
    this.inService--;
    invariant(this.inService >= 0, 'sim-machine-in-service', () => `${this.inService} in service`);
    if (work.kind === 'out') this.env.transmit(work.to, work.bytes);
    else this.served.set(work.seq, work);
    // Handling may send (and so pump re-entrantly): the served input is taken off first.
    for (let next = this.served.get(this.nextHandled); next; next = this.served.get(this.nextHandled)) {
      this.served.delete(this.nextHandled++);
      if (next.kind === 'timer') {
        next.run();
        continue;
      }
      this.held--;
      invariant(this.held >= 0 && this.held < this.model.queueLimit, 'sim-machine-held', () => `${this.held} held, limit ${this.model.queueLimit}`);
      this.env.handle(next.bytes);
    }
    // The core is given back only now: the handler's sends asked for it first.
    this.host.release(this);
    this.pump();
  }
}
