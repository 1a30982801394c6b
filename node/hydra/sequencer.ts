import type { Core, Ctx, NodeId } from '../runtime/core.js';
import type { ClientMsg, Config, Flush, HydraMsg } from './messages.js';
import {
  AGGREGATOR, configNodes, type HydraTopology, allClients, allReceivers, receiversOfGroups, sequencerNode,
} from './topology.js';

export interface SequencerParams {
  /** Sequencer id k (member id 100 + k). */
  id: number;
  /** Unique per process boot (e.g. the boot time in µs). */
  incarnation: number;
  topology: HydraTopology;
  /** Period of unsolicited flushes; 0 turns them off (flushes are then only solicited). */
  flushIntervalUs: number;
  /** At most one solicited flush per this interval, however many receivers ask. */
  minFlushGapUs: number;
  /** How often load feedback goes to senders. */
  loadIntervalUs: number;
  /** How often an unconfirmed JOIN is repeated. */
  joinRetryUs: number;
}

export interface SequencerObserver {
  stamped(groups: number): void;
  flushed(kind: 'periodic' | 'solicited'): void;
  rejected(reason: 'inactive' | 'bad-groups' | 'paused'): void;
  configured(config: number, active: boolean): void;
}

/**
 * The switch role of Hydra: one atomic step reads a strictly monotonic clock and bumps the
 * counter of every destination group (docs/hydra.md#sequencer), then multicasts the stamped
 * message. It flushes (clock and every group's latest counter, no counter bump) periodically
 * and when receivers ask. It stamps only while the configuration service lists this very
 * incarnation as active, so a restarted process with reset counters can never reuse numbers.
 */
export class Sequencer implements Core<HydraMsg> {
  private lastClock = 0;
  private readonly seqs: number[];
  private active = false;
  private config = 0;
  /** Configuration this incarnation was admitted in; a new admission restarts the counters. */
  private joined = 0;
  /** After being asked to leave for configuration n, older configurations can't re-activate us. */
  private leftFor = 0;
  /**
   * An addition of configuration `until` is under way: we stamp nothing in our configuration past
   * `clock`, which we reported to the service (it bounds the joiner's start frontier), and hold
   * client messages until we install `until` (docs/hydra.md#reconfiguration).
   */
  private paused: { until: number; joiner: number; clock: number; held: ClientMsg[] } | null = null;
  private lastFlushAt = -Infinity;
  private flushPending = false;
  private stampedInWindow = 0;
  private readonly receivers: NodeId[];
  private readonly destinations = new Map<number, NodeId[]>();
  private readonly allGroups: number;

  constructor(private readonly p: SequencerParams, private readonly obs: SequencerObserver) {
    this.seqs = new Array<number>(p.topology.groups).fill(0);
    this.receivers = allReceivers(p.topology);
    this.allGroups = p.topology.groups >= 32 ? 0xffffffff : (1 << p.topology.groups) - 1;
  }

  get isActive(): boolean {
    return this.active;
  }

  start(ctx: Ctx<HydraMsg>): void {
    this.join(ctx);
    if (this.p.flushIntervalUs > 0) ctx.setTimer('flush', this.p.flushIntervalUs);
    ctx.setTimer('load', this.p.loadIntervalUs);
  }

  receive(ctx: Ctx<HydraMsg>, m: HydraMsg): void {
    switch (m.type) {
      case 'client':
        return this.stamp(ctx, m);
      case 'flushreq':
        return this.solicited(ctx);
      case 'prepare':
        if (m.change === 'remove' && m.sequencer === this.p.id) this.leave(ctx, m.newConfig);
        else if (m.change === 'add' && m.sequencer !== this.p.id) this.pause(ctx, m.newConfig, m.sequencer);
        return;
      case 'config':
        return this.configure(ctx, m);
      default:
        return;
    }
  }

  timer(ctx: Ctx<HydraMsg>, name: string): void {
    switch (name) {
      case 'flush':
        this.flush(ctx, false);
        ctx.setTimer('flush', this.p.flushIntervalUs);
        return;
      case 'solicited':
        this.flushPending = false;
        this.flush(ctx, true);
        return;
      case 'load':
        if (this.active) {
          const rate = this.stampedInWindow / (this.p.loadIntervalUs / 1e6);
          ctx.multicast(allClients(this.p.topology), { type: 'load', sequencer: this.p.id, rate });
        }
        this.stampedInWindow = 0;
        ctx.setTimer('load', this.p.loadIntervalUs);
        return;
      case 'join':
        return this.join(ctx);
    }
  }

  /** Strictly monotonic even if the emulated clock is skewed, drifting or stepped back. */
  private tick(now: number): number {
    this.lastClock = now > this.lastClock ? now : this.lastClock + 1;
    return this.lastClock;
  }

  private stamp(ctx: Ctx<HydraMsg>, m: ClientMsg): void {
    if (!this.active) {
      this.obs.rejected('inactive');
      return;
    }
    if (this.paused) {
      if (this.paused.held.length < HELD_MAX) this.paused.held.push(m);
      else this.obs.rejected('paused');
      return;
    }
    if ((m.groups & ~this.allGroups) !== 0) {
      this.obs.rejected('bad-groups');
      return;
    }
    const clock = this.tick(ctx.now);
    const stamps: number[] = [];
    for (let g = 0; g < this.seqs.length; g++) if (m.groups & (1 << g)) stamps.push(++this.seqs[g]!);
    let to = this.destinations.get(m.groups);
    if (!to) {
      to = receiversOfGroups(this.p.topology, m.groups);
      this.destinations.set(m.groups, to);
    }
    ctx.multicast(to, {
      type: 'groupcast', config: this.config, sequencer: this.p.id, clock, groups: m.groups, stamps,
      client: m.client, msgId: m.msgId, sentAt: m.sentAt, payload: m.payload,
    });
    this.stampedInWindow++;
    this.obs.stamped(m.groups);
  }

  private solicited(ctx: Ctx<HydraMsg>): void {
    if (this.flushPending) return;
    const wait = this.lastFlushAt + this.p.minFlushGapUs - ctx.now;
    if (wait <= 0) {
      this.flush(ctx, true);
    } else {
      this.flushPending = true;
      ctx.setTimer('solicited', wait);
    }
  }

  private flush(ctx: Ctx<HydraMsg>, solicited: boolean): void {
    this.lastFlushAt = ctx.now;
    // Paused for an addition, we flush at the clock we reported: nothing of ours in this
    // configuration may go past the joiner's start frontier.
    const clock = this.paused ? this.paused.clock : this.tick(ctx.now);
    const msg: Flush = { type: 'flush', solicited, config: this.config, sequencer: this.p.id, clock, seqs: [...this.seqs] };
    // An active sequencer's flushes go through the aggregator when there is one; a joining one
    // flushes straight to the receivers, which need its flushes to compute its start frontier.
    if (this.active && this.p.topology.aggregator) ctx.send(AGGREGATOR, msg);
    else ctx.multicast(this.receivers, msg);
    this.obs.flushed(solicited ? 'solicited' : 'periodic');
  }

  private join(ctx: Ctx<HydraMsg>): void {
    if (this.active) return;
    // Repeated while not a member, so the service knows this incarnation is alive and can admit it.
    ctx.multicast(configNodes(this.p.topology), { type: 'join', sequencer: this.p.id, incarnation: this.p.incarnation });
    ctx.setTimer('join', this.p.joinRetryUs);
  }

  /**
   * An addition of configuration `newConfig` is being prepared (Switchyard's choice; Hydra's
   * addition pauses only receivers): an active sequencer stops stamping in its configuration and
   * reports its clock, which the service counts in the joiner's start frontier. So every message
   * stamped in a configuration without the joiner is ordered before the joiner's stream, even at a
   * receiver that never paused (it missed PREPARE, or its report was not counted) and goes on
   * delivering in the old configuration. Client messages wait until we install `newConfig`.
   */
  private pause(ctx: Ctx<HydraMsg>, newConfig: number, joiner: number): void {
    if (!this.active || newConfig <= this.config) return;
    if (!this.paused || this.paused.until !== newConfig) {
      const held = this.paused?.held ?? [];
      this.paused = { until: newConfig, joiner, clock: Math.max(this.paused?.clock ?? 0, this.tick(ctx.now)), held };
    }
    // Repeated while the service asks (it re-sends PREPARE until we report), always the same clock.
    ctx.multicast(configNodes(this.p.topology), {
      type: 'addreport', newConfig, receiver: sequencerNode(this.p.id), sequencer: joiner, clock: this.paused.clock,
    });
  }

  /** Being removed: stop stamping and report our own exact counters, which bound the final flush. */
  private leave(ctx: Ctx<HydraMsg>, newConfig: number): void {
    this.active = false;
    this.release(ctx, false);
    this.leftFor = Math.max(this.leftFor, newConfig);
    ctx.multicast(configNodes(this.p.topology), {
      type: 'removereport', newConfig, reporter: sequencerNode(this.p.id), sequencer: this.p.id,
      clock: this.lastClock, seqs: [...this.seqs],
    });
    this.obs.configured(this.config, false);
    ctx.setTimer('join', this.p.joinRetryUs);
  }

  private configure(ctx: Ctx<HydraMsg>, m: Config): void {
    ctx.multicast(configNodes(this.p.topology), { type: 'configack', member: sequencerNode(this.p.id), config: m.config });
    if (m.config < this.config) return;
    const me = m.config >= this.leftFor
      ? m.active.find((a) => a.sequencer === this.p.id && a.incarnation === this.p.incarnation)
      : undefined;
    this.config = m.config;
    this.active = me !== undefined;
    // Stamps of this configuration go above every start frontier in it (the latest joiner's).
    this.lastClock = Math.max(this.lastClock, ...m.active.map((a) => a.start));
    if (me) {
      if (me.joined !== this.joined) {
        // A new admission: receivers expect this sequencer's numbering to start again at 1.
        this.joined = me.joined;
        this.seqs.fill(0);
      }
      this.lastClock = Math.max(this.lastClock, me.start);
      ctx.cancelTimer('join');
    } else {
      // Not (or no longer) a member: keep announcing ourselves so the service can admit us.
      ctx.setTimer('join', this.p.joinRetryUs);
    }
    // The addition we paused for is decided (or abandoned): stamp again.
    if (this.paused && m.config >= this.paused.until) this.release(ctx, this.active);
    this.obs.configured(m.config, this.active);
  }

  /** Ends a pause: the messages held stamped now (`stamp`), or refused if we no longer may. */
  private release(ctx: Ctx<HydraMsg>, stamp: boolean): void {
    const p = this.paused;
    if (!p) return;
    this.paused = null;
    for (const m of p.held) {
      if (stamp) this.stamp(ctx, m);
      else this.obs.rejected('inactive');
    }
  }
}

/** Client messages a sequencer holds while paused for an addition; past it they are refused (`paused`). */
const HELD_MAX = 4096;
