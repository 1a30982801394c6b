import { Heap } from 'heap-js';
import type { NodeId } from '../runtime/core.js';
import { SeededRandom } from '../runtime/random.js';
import type { Clock, Scheduler, Transport } from '../runtime/transport.js';
import { type CostModel, SimMachine } from './sim-machine.js';
import { type LinkSpec, SimLinks } from './sim-links.js';

/**
 * A deterministic simulated network in virtual time (the spirit of TigerBeetle's VOPR and
 * FoundationDB's simulator). Every source of nondeterminism — packet loss, duplication,
 * reordering, delay and jitter, partitions, per-node clock skew and drift, crashes and
 * restarts — is drawn from one seeded generator, and events at equal times run in the order
 * they were scheduled, so a seed replays exactly. A member can be given a machine that spends
 * CPU on what it receives, sends and times (`setCostModel`, sim-machine.ts) and links a bandwidth
 * (`setLink`, sim-links.ts): the calibrated cost model of docs/model.md.
 */

export interface LinkFaults {
  /** Probability that a datagram is lost. */
  loss: number;
  /** Probability that a datagram is delivered twice. */
  duplicate: number;
  /** Probability that a datagram is held back by up to `reorderWindowUs`, overtaking later ones. */
  reorder: number;
  delayUs: number;
  jitterUs: number;
  reorderWindowUs: number;
}

export const perfectLinks: LinkFaults = {
  loss: 0,
  duplicate: 0,
  reorder: 0,
  delayUs: 20,
  jitterUs: 0,
  reorderWindowUs: 0,
};

export interface SimNodeClock {
  /** Offset of this node's clock from true (virtual) time, in µs. */
  skewUs: number;
  /** Rate error: the node's clock advances (1 + drift) µs per true µs. */
  drift: number;
}

/** What a simulated node is built from; called again on every restart (state is lost). */
export type SimBoot = (env: { transport: Transport; clock: Clock; scheduler: Scheduler }) => {
  start(): void;
  stop(): void;
};

interface SimEvent {
  at: number;
  order: number;
  run: () => void;
}

/** A one-core node that takes `serviceUs` per received datagram and nothing to send, with a bounded backlog. */
export interface SimCapacity {
  serviceUs: number;
  /** At most this many datagrams are held (in service or waiting); more are dropped, as from a full receive buffer. */
  queueLimit: number;
}

interface SimNode {
  id: NodeId;
  machine: SimMachine | null;
  clock: SimNodeClock;
  boot: SimBoot;
  up: boolean;
  incarnation: number;
  handler: ((bytes: Uint8Array) => void) | null;
  instance: { start(): void; stop(): void } | null;
}

export interface SimStats {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  blocked: number;
  /** Dropped at a node whose processing backlog was full. */
  overflowed: number;
}

export class SimNetwork {
  readonly rng: SeededRandom;
  private time = 0;
  private order = 0;
  private readonly queue = new Heap<SimEvent>((a, b) => a.at - b.at || a.order - b.order);
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly cut = new Set<string>();
  private readonly oneWay = new Map<string, number>();
  private readonly links = new SimLinks();
  faults: LinkFaults;
  readonly stats: SimStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, blocked: 0, overflowed: 0 };
  /** Sees every datagram sent, before faults apply (tests count traffic by kind with it). */
  tap: ((from: NodeId, to: NodeId, bytes: Uint8Array) => void) | null = null;

  constructor(readonly seed: number, faults: Partial<LinkFaults> = {}) {
    this.rng = new SeededRandom(seed);
    this.faults = { ...perfectLinks, ...faults };
  }

  /** True (virtual) time in µs. */
  get now(): number {
    return this.time;
  }

  addNode(id: NodeId, boot: SimBoot, clock: SimNodeClock = { skewUs: 0, drift: 0 }): void {
    if (this.nodes.has(id)) throw new Error(`simulated node ${id} already exists`);
    const node: SimNode = { id, clock, boot, up: false, incarnation: 0, handler: null, instance: null, machine: null };
    this.nodes.set(id, node);
    this.bootNode(node);
  }

  /** Stops a node: its timers never fire and datagrams to it are lost until `restart`. */
  crash(id: NodeId): void {
    const node = this.node(id);
    if (!node.up) return;
    node.up = false;
    node.instance?.stop();
    node.instance = null;
    node.handler = null;
    node.machine?.reset();
  }

  /** Boots a crashed node afresh: its protocol state starts empty, as after a process restart. */
  restart(id: NodeId): void {
    const node = this.node(id);
    if (node.up) return;
    this.bootNode(node);
  }

  /** Gives a node a processing budget (the simulated-capacity mode); null removes it. */
  setCapacity(id: NodeId, capacity: SimCapacity | null): void {
    const { serviceUs, queueLimit } = capacity ?? { serviceUs: 0, queueLimit: 0 };
    this.setCostModel(id, capacity && { cores: 1, receiveUs: () => serviceUs, sendUs: () => 0, queueLimit });
  }

  /**
   * Makes a node a machine that spends CPU on what it receives and sends (see SimMachine); null
   * makes it free again, as a switch role in hardware at line rate (only its links delay it).
   */
  setCostModel(id: NodeId, model: CostModel | null): void {
    const node = this.node(id);
    node.machine = model && new SimMachine(model, {
      now: () => this.time,
      at: (time, fn) => this.at(time, fn),
      handle: (bytes) => this.handle(node, bytes),
      transmit: (to, bytes) => this.transmit(id, to, bytes),
    });
  }

  /** CPU µs a node's machine has spent, datagrams it dropped for a full backlog and its wake-ups (zero without a cost model). */
  machineStats(id: NodeId): { busyUs: number; overflowed: number; wakeups: number } {
    const m = this.node(id).machine;
    return { busyUs: m?.busyUs ?? 0, overflowed: m?.overflowed ?? 0, wakeups: m?.wakeups ?? 0 };
  }

  /** Gives the link direction `from` → `to` a latency and bandwidth. */
  setLink(from: NodeId, to: NodeId, spec: LinkSpec): void {
    this.links.set(from, to, spec);
  }

  /** The latency and bandwidth of every link direction without its own `setLink`; null: unbounded bandwidth. */
  setDefaultLink(spec: LinkSpec | null): void {
    this.links.setDefault(spec);
  }

  isUp(id: NodeId): boolean {
    return this.node(id).up;
  }

  /** Cuts both directions between every member of `a` and every member of `b`. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) for (const y of b) {
      this.cut.add(`${x}>${y}`);
      this.cut.add(`${y}>${x}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /**
   * Loses every datagram from `from` to `to` until virtual time `until` (one direction only): a
   * sender still addressing a replaced member's old endpoint, as until its name is resolved again.
   */
  cutUntil(from: NodeId, to: NodeId, until: number): void {
    this.oneWay.set(`${from}>${to}`, until);
  }

  /** Runs `fn` at absolute virtual time `at` (µs). */
  at(at: number, fn: () => void): void {
    this.queue.push({ at: Math.max(at, this.time), order: this.order++, run: fn });
  }

  /** Processes events until virtual time `until` (µs) or the queue empties. */
  runUntil(until: number): void {
    for (;;) {
      const next = this.queue.peek();
      if (!next || next.at > until) break;
      this.queue.pop();
      this.time = next.at;
      next.run();
    }
    this.time = Math.max(this.time, until);
  }

  runFor(us: number): void {
    this.runUntil(this.time + us);
  }

  private node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no simulated node ${id}`);
    return node;
  }

  /** Whole microseconds, as a real node's clock reads (and as clocks travel on the wire). */
  private localNow(node: SimNode): number {
    return Math.floor(node.clock.skewUs + this.time * (1 + node.clock.drift));
  }

  private bootNode(node: SimNode): void {
    node.up = true;
    const incarnation = ++node.incarnation;
    const alive = () => node.up && node.incarnation === incarnation;
    const transport: Transport = {
      send: (to, bytes) => {
        if (!alive()) return;
        if (node.machine) node.machine.send(to, bytes);
        else this.transmit(node.id, to, bytes);
      },
      onReceive: (handler) => {
        if (alive()) node.handler = handler;
      },
      close: () => {},
    };
    const clock: Clock = { now: () => this.localNow(node) };
    const scheduler: Scheduler = {
      schedule: (afterUs, fn, label) => {
        const event = { cancelled: false };
        const live = () => !event.cancelled && alive();
        this.at(this.time + afterUs / (1 + node.clock.drift), () => {
          if (!live()) return;
          if (node.machine) node.machine.timer(label ?? '', () => live() && fn(), live);
          else fn();
        });
        return event;
      },
      cancel: (handle) => {
        (handle as { cancelled: boolean }).cancelled = true;
      },
    };
    node.instance = node.boot({ transport, clock, scheduler });
    node.instance.start();
  }

  private arrive(to: NodeId, bytes: Uint8Array): void {
    const node = this.nodes.get(to);
    if (!node || !node.up || !node.handler) {
      this.stats.lost++;
      return;
    }
    if (!node.machine) this.handle(node, bytes);
    else if (!node.machine.receive(bytes)) this.stats.overflowed++;
  }

  private handle(node: SimNode, bytes: Uint8Array): void {
    if (!node.up || !node.handler) return;
    this.stats.delivered++;
    node.handler(bytes);
  }

  private transmit(from: NodeId, to: NodeId, bytes: Uint8Array): void {
    this.stats.sent++;
    this.tap?.(from, to, bytes);
    if (this.cut.has(`${from}>${to}`) || (this.oneWay.size > 0 && (this.oneWay.get(`${from}>${to}`) ?? -1) > this.time)) {
      this.stats.blocked++;
      return;
    }
    const f = this.faults;
    const link = this.links.spec(from, to);
    // The wire is taken whether or not the datagram then survives the network's faults.
    const onWire = this.links.serialize(from, to, bytes.length, this.time);
    if (this.rng.chance(f.loss)) {
      this.stats.lost++;
      return;
    }
    const copies = this.rng.chance(f.duplicate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let delay = onWire - this.time + (link?.latencyUs ?? f.delayUs) + this.rng.next() * f.jitterUs;
      if (this.rng.chance(f.reorder)) {
        delay += this.rng.next() * f.reorderWindowUs;
        this.stats.reordered++;
      }
      // The receiver gets its own copy, as from a real socket.
      const copy = bytes.slice();
      this.at(this.time + delay, () => this.arrive(to, copy));
    }
  }
}
