import type { Core, Ctx, NodeId } from '../runtime/core.js';
import type { Config, FlushState, HydraMsg } from './messages.js';
import { AGGREGATOR, type HydraTopology, allReceivers, configNodes } from './topology.js';

export interface AggregatorObserver {
  forwarded(flushes: number): void;
  absorbed(): void;
}

/**
 * How often a stale aggregator asks again for the current configuration; a lost answer costs
 * at most this much more of receivers falling back on their solicitations.
 */
const ASK_RETRY_US = 5_000;

/**
 * The top-of-rack flush aggregator (docs/hydra.md#flushes-and-the-aggregator): it keeps the latest flush of every
 * active sequencer and forwards one combined flush to the receivers only when the minimum
 * (clock, id) over all of them advanced — the only event that can let a receiver deliver more.
 * Flushes that receivers solicited are forwarded at once: a receiver waiting on a sequencer
 * may know the others' clocks from their messages, which the aggregator never sees. The flushes
 * that reached it since its last forward are also forwarded at least every `heartbeatUs`: they
 * are the receivers' news that those sequencers are alive, and one sequencer whose flushes stop
 * (dead, cut off, a joiner not yet admitted) holds the minimum still, which would otherwise
 * leave every other sequencer silent at the receivers and suspected. Only fresh flushes go: a
 * dead sequencer's last one, repeated, would keep it from being suspected.
 * Its state is soft: restarted empty, it knows only the initial configuration, and the first
 * flush stamped in a newer one makes it acknowledge its own (older) configuration to the
 * configuration service, which answers with the current one.
 */
export class Aggregator implements Core<HydraMsg> {
  private config: Config;
  private readonly latest = new Map<number, FlushState>();
  private lastMin = { clock: -1, sequencer: -1 };
  private readonly receivers: NodeId[];
  private readonly configService: NodeId[];
  private askedAt = -Infinity;
  /** Sequencers whose flush reached us since the last forward. */
  private readonly fresh = new Set<number>();
  private forwardedAt = -Infinity;

  /** `heartbeatUs`: how often receivers check for silent sequencers (`failureCheckUs`). */
  constructor(topology: HydraTopology, private readonly heartbeatUs: number, private readonly obs: AggregatorObserver) {
    this.config = topology.initial;
    this.receivers = allReceivers(topology);
    this.configService = configNodes(topology);
  }

  start(): void {}

  timer(): void {}

  receive(ctx: Ctx<HydraMsg>, m: HydraMsg): void {
    if (m.type === 'flush') {
      if (m.config > this.config.config && ctx.now - this.askedAt >= ASK_RETRY_US) {
        this.askedAt = ctx.now;
        ctx.multicast(this.configService, { type: 'configack', member: AGGREGATOR, config: this.config.config });
      }
      const entry = this.config.active.find((a) => a.sequencer === m.sequencer);
      if (!entry || m.config < entry.joined) return;
      const prev = this.latest.get(m.sequencer);
      if (!prev || prev.config < entry.joined || m.clock > prev.clock) {
        this.latest.set(m.sequencer, { sequencer: m.sequencer, config: m.config, clock: m.clock, seqs: m.seqs });
      }
      this.fresh.add(m.sequencer);
      this.maybeForward(ctx, m.solicited);
    } else if (m.type === 'config') {
      ctx.multicast(this.configService, { type: 'configack', member: AGGREGATOR, config: m.config });
      if (m.config <= this.config.config) return;
      this.config = m;
      for (const k of [...this.latest.keys()]) if (!m.active.some((a) => a.sequencer === k)) this.latest.delete(k);
      // A new membership has a new minimum (a joiner may start below the old one): forward afresh.
      this.lastMin = { clock: -1, sequencer: -1 };
      this.maybeForward(ctx, false);
    }
  }

  private maybeForward(ctx: Ctx<HydraMsg>, force: boolean): void {
    let min = { clock: Infinity, sequencer: Infinity };
    const flushes: FlushState[] = [];
    for (const a of this.config.active) {
      const f = this.latest.get(a.sequencer);
      const clock = f && f.config >= a.joined ? f.clock : a.start;
      if (f) flushes.push(f);
      if (clock < min.clock || (clock === min.clock && a.sequencer < min.sequencer)) min = { clock, sequencer: a.sequencer };
    }
    const advanced = min.clock > this.lastMin.clock || (min.clock === this.lastMin.clock && min.sequencer > this.lastMin.sequencer);
    if (!advanced && !force) {
      if (ctx.now - this.forwardedAt >= this.heartbeatUs && this.fresh.size > 0) {
        this.forward(ctx, flushes.filter((f) => this.fresh.has(f.sequencer)));
      } else {
        this.obs.absorbed();
      }
      return;
    }
    if (flushes.length === 0) return;
    if (advanced) this.lastMin = min;
    this.forward(ctx, flushes);
  }

  private forward(ctx: Ctx<HydraMsg>, flushes: FlushState[]): void {
    ctx.multicast(this.receivers, { type: 'aggflush', flushes });
    this.forwardedAt = ctx.now;
    this.fresh.clear();
    this.obs.forwarded(flushes.length);
  }
}
