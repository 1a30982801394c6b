import type { Core, Ctx, NodeId } from '../runtime/core.js';
import type { ActiveSequencer, AddReport, Config, FinalFlush, HydraMsg, RemoveReport } from './messages.js';
import {
  AGGREGATOR, MAX_SEQUENCERS, type HydraTopology, allClients, allReceivers, receiversOf, sequencerNode,
} from './topology.js';

export interface ConfigServiceParams {
  topology: HydraTopology;
  /** Sequencer ids that should be active (the spec's `sequencers`); changed live by `command`. */
  desired: number[];
  /** Period of retransmissions and of checking for work. */
  tickUs: number;
  /** After a quorum of every group has reported, how long to wait for the remaining receivers. */
  reportGraceUs: number;
  /** An addition whose joiner never flushes is abandoned after this long, un-pausing receivers. */
  addTimeoutUs: number;
}

export interface ConfigServiceObserver {
  reconfigured(kind: 'remove' | 'add' | 'abort', sequencer: number, config: number, activeCount: number): void;
}

/** An admin command: set the wanted sequencer ids (from the operator, the runner or a test). */
export interface SetSequencers {
  sequencers: number[];
}

interface Change {
  kind: 'remove' | 'add';
  sequencer: number;
  incarnation: number;
  newConfig: number;
  startedAt: number;
  quorumAt: number | null;
  reports: Map<NodeId, RemoveReport | AddReport>;
}

const FINALS_KEPT = 16;

/**
 * Hydra's configuration service (seed-systems.md §2.5): numbered configurations of the active
 * sequencers, changed one at a time.
 * - Removal (suspected, restarted, or no longer wanted): receivers freeze the sequencer and
 *   report the highest counters they saw from it; after a quorum of every group (and a grace
 *   period for the rest), the maximum becomes its final flush, which turns its unknown tail
 *   into drop notifications at the same position everywhere.
 * - Addition: receivers pause and report the joiner's first flush later than all they
 *   delivered; the highest such timestamp from a quorum of every group is its start frontier.
 * The service itself is one process (the paper replicates it with Paxos; a single instance is
 * our simplification, and it keeps no state a restart would need beyond the spec).
 */
export class ConfigService implements Core<HydraMsg> {
  private config: Config;
  private desired: Set<number>;
  /** Latest JOIN per sequencer id: which incarnation announced itself, and when. */
  private readonly alive = new Map<number, { incarnation: number; at: number }>();
  private readonly suspected = new Set<number>();
  private change: Change | null = null;
  private readonly unacked = new Set<NodeId>();
  private readonly receivers: NodeId[];

  constructor(private readonly p: ConfigServiceParams, private readonly obs: ConfigServiceObserver) {
    this.config = structuredClone(p.topology.initial);
    this.desired = new Set(p.desired);
    this.receivers = allReceivers(p.topology);
  }

  get current(): Config {
    return this.config;
  }

  start(ctx: Ctx<HydraMsg>): void {
    ctx.setTimer('tick', this.p.tickUs);
  }

  command(ctx: Ctx<HydraMsg>, command: unknown): void {
    const ids = (command as SetSequencers).sequencers;
    if (!Array.isArray(ids) || ids.some((k) => !Number.isInteger(k) || k < 0 || k >= MAX_SEQUENCERS)) {
      throw new Error(`sequencers must be a list of ids in 0..${MAX_SEQUENCERS - 1}`);
    }
    this.desired = new Set(ids);
    this.advance(ctx);
  }

  receive(ctx: Ctx<HydraMsg>, m: HydraMsg): void {
    switch (m.type) {
      case 'join':
        this.onJoin(ctx, m.sequencer, m.incarnation);
        break;
      case 'suspect':
        if (this.isActive(m.sequencer)) this.suspected.add(m.sequencer);
        break;
      case 'removereport':
      case 'addreport': {
        const c = this.change;
        const reporter = m.type === 'removereport' ? m.reporter : m.receiver;
        if (c && c.newConfig === m.newConfig && c.sequencer === m.sequencer && c.kind === (m.type === 'addreport' ? 'add' : 'remove')) {
          c.reports.set(reporter, m);
        }
        break;
      }
      case 'configack':
        if (m.config === this.config.config) this.unacked.delete(m.member);
        return;
      default:
        return;
    }
    this.advance(ctx);
  }

  timer(ctx: Ctx<HydraMsg>, name: string): void {
    if (name !== 'tick') return;
    this.retransmit(ctx);
    this.advance(ctx);
    ctx.setTimer('tick', this.p.tickUs);
  }

  private isActive(k: number): boolean {
    return this.config.active.some((a) => a.sequencer === k);
  }

  private onJoin(ctx: Ctx<HydraMsg>, k: number, incarnation: number): void {
    this.alive.set(k, { incarnation, at: ctx.now });
    const entry = this.config.active.find((a) => a.sequencer === k);
    if (!entry) return;
    if (entry.incarnation === 0) {
      // First boot of an initial sequencer: admit this incarnation in the current configuration.
      entry.incarnation = incarnation;
      this.publish(ctx, [sequencerNode(k)]);
    } else if (entry.incarnation !== incarnation) {
      // Restarted: its counters began again, so the old incarnation must be removed first.
      this.suspected.add(k);
    } else {
      ctx.send(sequencerNode(k), this.config);
    }
  }

  /** Finishes the change in progress if it can, else starts the next one. */
  private advance(ctx: Ctx<HydraMsg>): void {
    if (this.change) {
      this.tryFinish(ctx, this.change);
      if (this.change) return;
    }
    const removal = this.config.active
      .filter((a) => this.suspected.has(a.sequencer) || !this.desired.has(a.sequencer))
      .sort((a, b) => a.sequencer - b.sequencer)[0];
    if (removal) return this.begin(ctx, 'remove', removal.sequencer, removal.incarnation);
    this.suspected.clear();
    // Only a sequencer that announced itself recently is added: an addition pauses receivers.
    const addition = [...this.desired]
      .filter((k) => !this.isActive(k) && ctx.now - (this.alive.get(k)?.at ?? -Infinity) < this.p.addTimeoutUs / 2)
      .sort((a, b) => a - b)[0];
    if (addition !== undefined) this.begin(ctx, 'add', addition, this.alive.get(addition)!.incarnation);
  }

  private begin(ctx: Ctx<HydraMsg>, kind: 'remove' | 'add', sequencer: number, incarnation: number): void {
    this.change = {
      kind, sequencer, incarnation, newConfig: this.config.config + 1, startedAt: ctx.now, quorumAt: null, reports: new Map(),
    };
    this.sendPrepare(ctx, this.change);
  }

  private sendPrepare(ctx: Ctx<HydraMsg>, c: Change): void {
    const to = this.receivers.filter((r) => !c.reports.has(r));
    // A leaving sequencer that is still alive reports its own exact counters.
    if (c.kind === 'remove' && !c.reports.has(sequencerNode(c.sequencer))) to.push(sequencerNode(c.sequencer));
    ctx.multicast(to, { type: 'prepare', newConfig: c.newConfig, change: c.kind, sequencer: c.sequencer });
  }

  private quorumOfEveryGroup(c: Change): boolean {
    for (let g = 0; g < this.p.topology.groups; g++) {
      const members = receiversOf(this.p.topology, g);
      const reported = members.filter((r) => c.reports.has(r)).length;
      if (reported < Math.floor(members.length / 2) + 1) return false;
    }
    return true;
  }

  private tryFinish(ctx: Ctx<HydraMsg>, c: Change): void {
    if (c.kind === 'add' && ctx.now - c.startedAt > this.p.addTimeoutUs) {
      // The joiner never flushed: publish a configuration without it so receivers resume.
      this.alive.delete(c.sequencer);
      this.install(ctx, { ...this.config, config: c.newConfig }, 'abort', c.sequencer);
      return;
    }
    if (!this.quorumOfEveryGroup(c)) return;
    c.quorumAt ??= ctx.now;
    const everyone = this.receivers.every((r) => c.reports.has(r));
    if (!everyone && ctx.now - c.quorumAt < this.p.reportGraceUs) return;
    if (c.kind === 'remove') {
      const reports = [...c.reports.values()] as RemoveReport[];
      const final: FinalFlush = {
        sequencer: c.sequencer,
        config: c.newConfig,
        clock: Math.max(...reports.map((r) => r.clock)),
        seqs: Array.from({ length: this.p.topology.groups }, (_, g) => Math.max(...reports.map((r) => r.seqs[g] ?? 0))),
      };
      this.suspected.delete(c.sequencer);
      // The removed incarnation is gone for good; a restarted process announces a new one.
      if (this.alive.get(c.sequencer)?.incarnation === c.incarnation) this.alive.delete(c.sequencer);
      const finals = [...this.config.finals, final].slice(-FINALS_KEPT);
      this.install(ctx, {
        type: 'config', config: c.newConfig, active: this.config.active.filter((a) => a.sequencer !== c.sequencer), finals,
      }, 'remove', c.sequencer);
    } else {
      const start = Math.max(...([...c.reports.values()] as AddReport[]).map((r) => r.clock));
      const joiner: ActiveSequencer = { sequencer: c.sequencer, joined: c.newConfig, start, incarnation: c.incarnation };
      this.install(ctx, {
        type: 'config', config: c.newConfig, active: [...this.config.active, joiner].sort((a, b) => a.sequencer - b.sequencer),
        finals: this.config.finals,
      }, 'add', c.sequencer);
    }
  }

  private install(ctx: Ctx<HydraMsg>, next: Config, kind: 'remove' | 'add' | 'abort', sequencer: number): void {
    this.config = next;
    this.change = null;
    this.unacked.clear();
    this.publish(ctx, this.everyone());
    this.obs.reconfigured(kind, sequencer, next.config, next.active.length);
  }

  private everyone(): NodeId[] {
    const seqs = new Set<number>([...this.alive.keys(), ...this.config.active.map((a) => a.sequencer)]);
    const members = [...this.receivers, ...[...seqs].map(sequencerNode), ...allClients(this.p.topology)];
    if (this.p.topology.aggregator) members.push(AGGREGATOR);
    return members;
  }

  private publish(ctx: Ctx<HydraMsg>, to: NodeId[]): void {
    for (const m of to) this.unacked.add(m);
    ctx.multicast(to, this.config);
  }

  private retransmit(ctx: Ctx<HydraMsg>): void {
    if (this.change) this.sendPrepare(ctx, this.change);
    if (this.unacked.size > 0) ctx.multicast([...this.unacked], this.config);
  }
}
