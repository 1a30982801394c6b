import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { isVrMsg } from '../vr/messages.js';
import { VrReplica, type VrObserver } from '../vr/replica.js';
import { type ConfigCommand, type ConfigState, type PlannedChange, configStateMachine, initialConfigState } from './config-state.js';
import type { AddReport, Config, FlushState, HydraMsg, RemoveReport } from './messages.js';
import {
  AGGREGATOR, MAX_SEQUENCERS, type HydraTopology, allClients, allReceivers, configNodes, receiversOf, sequencerNode,
} from './topology.js';

export interface ConfigServiceParams {
  topology: HydraTopology;
  /** This replica's number among the service's `topology.configReplicas`. */
  replica: number;
  /** Sequencer ids that should be active (the spec's `sequencers`); changed live by `command`. */
  desired: number[];
  /** Period of retransmissions, replication heartbeats and of checking for work. */
  tickUs: number;
  /** After a quorum of every group has reported, how long to wait for the remaining receivers. */
  reportGraceUs: number;
  /** An addition whose joiner never flushes is abandoned after this long, un-pausing receivers. */
  addTimeoutUs: number;
  /** A backup that hears nothing from the primary for this long starts a view change. */
  viewChangeUs: number;
}

export interface ConfigServiceObserver {
  /** A configuration change committed (at every replica, as it applies it). */
  reconfigured(kind: 'remove' | 'add' | 'abort', sequencer: number, config: number, activeCount: number): void;
  replication: VrObserver<ConfigState, ConfigCommand>;
}

/** An admin command: set the wanted sequencer ids (from the operator, the runner or a test). */
export interface SetSequencers {
  sequencers: number[];
}

/** A change the primary is carrying out: the receivers' reports it has gathered. */
interface Gathering {
  planned: PlannedChange;
  startedAt: number;
  quorumAt: number | null;
  reports: Map<NodeId, RemoveReport | AddReport>;
}

/** What only the primary keeps: learned again from the members by every new primary. */
interface Leadership {
  view: number;
  /** Latest JOIN per sequencer id: which incarnation announced itself, and when. */
  alive: Map<number, { incarnation: number; at: number }>;
  suspected: Set<number>;
  unacked: Set<NodeId>;
  /** The committed state the primary last acted on. */
  seen: ConfigState;
  change: Gathering | null;
}

const ENDS: Record<string, 'remove' | 'add' | 'abort'> = { removed: 'remove', added: 'add', aborted: 'abort' };

/**
 * One replica of Hydra's configuration service (docs/hydra.md#reconfiguration; docs/hydra-configuration-service.md):
 * numbered configurations of the active sequencers, changed one at a time.
 * - Removal (suspected, restarted, or no longer wanted): receivers freeze the sequencer and
 *   report the highest counters they saw from it; after a quorum of every group (and a grace
 *   period for the rest), the maximum becomes its final flush, which turns its unknown tail
 *   into drop notifications at the same position everywhere.
 * - Addition: receivers pause and report the joiner's first flush later than all they
 *   delivered; the highest such timestamp from a quorum of every group is its start frontier.
 *
 * As in the paper, the service is replicated: 2f+1 replicas run Viewstamped Replication
 * (node/vr) over its decisions — wanted sequencers, admissions, the start of a change and its
 * outcome (config-state.ts) — so it survives the loss of f replicas, and a replica restarted
 * with nothing takes the state from the others. The primary does the service's work: it
 * proposes each decision and acts on it (PREPARE to receivers, the new configuration to every
 * member) once committed. Members send to every replica; backups leave it to the primary.
 */
export class ConfigService implements Core<HydraMsg> {
  private readonly vr: VrReplica<ConfigState, ConfigCommand>;
  private readonly receivers: NodeId[];
  private lead: Leadership | null = null;
  /** The change in progress as of the last applied op (names the sequencer a change's outcome concerns). */
  private lastChange: PlannedChange | null = null;
  /** The latest admin command given to this replica, until the replicated state has it. */
  private requested: { sequencers: number[]; at: number } | null = null;

  constructor(private readonly p: ConfigServiceParams, obs: ConfigServiceObserver) {
    this.receivers = allReceivers(p.topology);
    const machine = configStateMachine(initialConfigState(structuredClone(p.topology.initial), p.desired));
    this.vr = new VrReplica({ members: configNodes(p.topology), me: p.replica, viewChangeUs: p.viewChangeUs }, machine, {
      ...obs.replication,
      applied: (op, command, state) => {
        obs.replication.applied(op, command, state);
        const before = this.lastChange;
        this.lastChange = state.change;
        const kind = ENDS[command.kind];
        if (kind && before && !state.change && before.newConfig === state.config.config) {
          obs.reconfigured(kind, before.sequencer, state.config.config, state.config.active.length);
        }
      },
      adopted: (commit, state) => {
        obs.replication.adopted(commit, state);
        this.lastChange = state.change;
      },
    });
  }

  /** The committed configuration. */
  get current(): Config {
    return this.vr.state.config;
  }

  /** The replication state, for tests and status. */
  get replication(): VrReplica<ConfigState, ConfigCommand> {
    return this.vr;
  }

  start(ctx: Ctx<HydraMsg>): void {
    this.vr.start(ctx);
    ctx.setTimer('tick', this.p.tickUs);
    this.afterInput(ctx);
  }

  command(ctx: Ctx<HydraMsg>, command: unknown): void {
    const ids = (command as SetSequencers).sequencers;
    if (!Array.isArray(ids) || ids.some((k) => !Number.isInteger(k) || k < 0 || k >= MAX_SEQUENCERS)) {
      throw new Error(`sequencers must be a list of ids in 0..${MAX_SEQUENCERS - 1}`);
    }
    this.requested = { sequencers: [...new Set(ids)], at: ctx.now };
    this.forwardRequest(ctx);
    this.afterInput(ctx);
  }

  receive(ctx: Ctx<HydraMsg>, m: HydraMsg): void {
    if (isVrMsg(m)) {
      this.vr.receive(ctx, m);
      this.afterInput(ctx);
      return;
    }
    // Members send to every replica: a backup leaves their messages to the primary.
    const lead = this.lead;
    if (!lead) return;
    switch (m.type) {
      case 'join':
        this.onJoin(ctx, lead, m.sequencer, m.incarnation);
        break;
      case 'suspect':
        // Raised in an older configuration (a restarted or cut-off receiver), a suspicion is stale:
        // not counted, answered with the current configuration (docs/hydra.md#receivers-and-the-minimum-barrier).
        if (m.config < this.current.config) this.bringUpToDate(ctx, m.receiver);
        else if (this.isActive(m.sequencer)) lead.suspected.add(m.sequencer);
        break;
      case 'removereport':
      case 'addreport': {
        const c = lead.change;
        const reporter = m.type === 'removereport' ? m.reporter : m.receiver;
        const kind = m.type === 'addreport' ? 'add' : 'remove';
        if (c && c.planned.newConfig === m.newConfig && c.planned.sequencer === m.sequencer && c.planned.kind === kind) {
          c.reports.set(reporter, m);
        }
        break;
      }
      case 'configack':
        if (m.config === this.current.config) lead.unacked.delete(m.member);
        else if (m.config < this.current.config) this.bringUpToDate(ctx, m.member);
        return;
      default:
        return;
    }
    this.advance(ctx);
  }

  timer(ctx: Ctx<HydraMsg>, name: string): void {
    if (name !== 'tick') return;
    this.vr.tick(ctx);
    this.forwardRequest(ctx);
    this.afterInput(ctx);
    this.retransmit(ctx);
    ctx.setTimer('tick', this.p.tickUs);
  }

  /** A member acknowledging or suspecting in an older configuration restarted or missed a change: it gets the current one. */
  private bringUpToDate(ctx: Ctx<HydraMsg>, member: NodeId): void {
    ctx.send(member, this.current);
  }

  private isActive(k: number): boolean {
    return this.current.active.some((a) => a.sequencer === k);
  }

  /** An admin command reaches the replicated state through the primary (Viewstamped Replication Revisited §4.1: clients talk to the primary). */
  private forwardRequest(ctx: Ctx<HydraMsg>): void {
    const r = this.requested;
    if (!r) return;
    if (r.at <= this.vr.state.desiredAt) {
      this.requested = null;
      return;
    }
    if (!this.vr.isPrimary) this.vr.request(ctx, { kind: 'desire', sequencers: r.sequencers, at: r.at });
  }

  /** Brings the primary's own bookkeeping up to the committed state, acts on what changed, then looks for work. */
  private afterInput(ctx: Ctx<HydraMsg>): void {
    const fresh = !this.lead || this.lead.view !== this.vr.currentView;
    if (!this.vr.isPrimary || (fresh && this.vr.uncommitted > 0)) {
      // A new primary acts once the log it took over has committed, never on an older configuration.
      this.lead = null;
      return;
    }
    const s = this.vr.state;
    let lead = this.lead;
    if (!lead || fresh) {
      // A new primary: tell every member the configuration, and resume a change in progress.
      lead = { view: this.vr.currentView, alive: new Map(), suspected: new Set(), unacked: new Set(), seen: s, change: null };
      this.lead = lead;
      this.publish(ctx, lead, this.everyone(lead));
    } else if (s !== lead.seen) {
      this.committed(ctx, lead, lead.seen, s);
    }
    lead.seen = s;
    if (!s.change) lead.change = null;
    else if (lead.change?.planned.newConfig !== s.change.newConfig) {
      lead.change = { planned: s.change, startedAt: ctx.now, quorumAt: null, reports: new Map() };
      this.sendPrepare(ctx, lead.change);
    }
    this.advance(ctx);
  }

  /** Acts on committed decisions: a new configuration goes to every member, an admission to its sequencer. */
  private committed(ctx: Ctx<HydraMsg>, lead: Leadership, before: ConfigState, after: ConfigState): void {
    const ended = before.change && !after.change ? before.change : null;
    if (ended) {
      const k = ended.sequencer;
      if (ended.kind === 'remove') {
        lead.suspected.delete(k);
        // The removed incarnation is gone for good; a restarted process announces a new one.
        if (lead.alive.get(k)?.incarnation === ended.incarnation) lead.alive.delete(k);
      } else if (!after.config.active.some((a) => a.sequencer === k)) {
        lead.alive.delete(k);
      }
    }
    if (after.config.config !== before.config.config) {
      lead.unacked.clear();
      this.publish(ctx, lead, this.everyone(lead));
    } else if (after.config !== before.config) {
      const admitted = after.config.active.filter((a) => before.config.active.find((b) => b.sequencer === a.sequencer)?.incarnation !== a.incarnation);
      this.publish(ctx, lead, admitted.map((a) => sequencerNode(a.sequencer)));
    }
  }

  private onJoin(ctx: Ctx<HydraMsg>, lead: Leadership, k: number, incarnation: number): void {
    lead.alive.set(k, { incarnation, at: ctx.now });
    const entry = this.current.active.find((a) => a.sequencer === k);
    if (!entry) return;
    if (entry.incarnation === 0) {
      // First boot of an initial sequencer: admit this incarnation in the current configuration.
      if (this.vr.uncommitted === 0) this.vr.propose(ctx, { kind: 'admit', sequencer: k, incarnation });
    } else if (entry.incarnation !== incarnation) {
      // Restarted: its counters began again, so the old incarnation must be removed first.
      lead.suspected.add(k);
    } else {
      ctx.send(sequencerNode(k), this.current);
    }
  }

  /** Proposes the next decision once the previous one has committed: finishing the change in progress, or starting one. */
  private advance(ctx: Ctx<HydraMsg>): void {
    const lead = this.lead;
    if (!lead || this.vr.uncommitted > 0) return;
    if (lead.change) return this.tryFinish(ctx, lead.change);
    const s = this.vr.state;
    if (this.requested && this.requested.at > s.desiredAt) {
      this.vr.propose(ctx, { kind: 'desire', sequencers: this.requested.sequencers, at: this.requested.at });
      return;
    }
    const desired = new Set(s.desired);
    const removal = s.config.active
      .filter((a) => lead.suspected.has(a.sequencer) || !desired.has(a.sequencer))
      .sort((a, b) => a.sequencer - b.sequencer)[0];
    const newConfig = s.config.config + 1;
    if (removal) {
      this.vr.propose(ctx, { kind: 'begin', change: { kind: 'remove', sequencer: removal.sequencer, incarnation: removal.incarnation, newConfig } });
      return;
    }
    lead.suspected.clear();
    // Only a sequencer that announced itself recently is added: an addition pauses receivers.
    const addition = [...desired]
      .filter((k) => !this.isActive(k) && ctx.now - (lead.alive.get(k)?.at ?? -Infinity) < this.p.addTimeoutUs / 2)
      .sort((a, b) => a - b)[0];
    if (addition !== undefined) {
      this.vr.propose(ctx, { kind: 'begin', change: { kind: 'add', sequencer: addition, incarnation: lead.alive.get(addition)!.incarnation, newConfig } });
    }
  }

  /**
   * The sequencers that must report before an addition is decided: every admitted incarnation of
   * the current configuration (an unadmitted one stamps nothing). Each stops stamping in its
   * configuration and reports its clock, which bounds the joiner's start frontier from below.
   */
  private pausing(c: Gathering): number[] {
    if (c.planned.kind !== 'add') return [];
    return this.current.active.filter((a) => a.incarnation !== 0 && a.sequencer !== c.planned.sequencer).map((a) => a.sequencer);
  }

  private sendPrepare(ctx: Ctx<HydraMsg>, c: Gathering): void {
    const { kind, sequencer, newConfig } = c.planned;
    const to = this.receivers.filter((r) => !c.reports.has(r));
    // A leaving sequencer that is still alive reports its own exact counters.
    if (kind === 'remove' && !c.reports.has(sequencerNode(sequencer))) to.push(sequencerNode(sequencer));
    for (const k of this.pausing(c)) if (!c.reports.has(sequencerNode(k))) to.push(sequencerNode(k));
    ctx.multicast(to, { type: 'prepare', newConfig, change: kind, sequencer });
  }

  private quorumOfEveryGroup(c: Gathering): boolean {
    for (let g = 0; g < this.p.topology.groups; g++) {
      const members = receiversOf(this.p.topology, g);
      const reported = members.filter((r) => c.reports.has(r)).length;
      if (reported < Math.floor(members.length / 2) + 1) return false;
    }
    return true;
  }

  private tryFinish(ctx: Ctx<HydraMsg>, c: Gathering): void {
    const { kind, newConfig } = c.planned;
    const unpaused = this.pausing(c).filter((k) => !c.reports.has(sequencerNode(k)));
    const suspected = this.lead?.suspected;
    if (kind === 'add' && (ctx.now - c.startedAt > this.p.addTimeoutUs || unpaused.some((k) => suspected?.has(k)))) {
      // The joiner never flushed, or a sequencer that must pause for it is suspected (it may be
      // dead: its removal comes first): a configuration without the joiner lets everyone resume.
      this.vr.propose(ctx, { kind: 'aborted', newConfig });
      return;
    }
    if (unpaused.length > 0 || !this.quorumOfEveryGroup(c)) return;
    c.quorumAt ??= ctx.now;
    const everyone = this.receivers.every((r) => c.reports.has(r));
    if (!everyone && ctx.now - c.quorumAt < this.p.reportGraceUs) return;
    if (kind === 'remove') {
      const reports = [...c.reports.values()] as RemoveReport[];
      const final: FlushState = {
        sequencer: c.planned.sequencer,
        config: newConfig,
        clock: Math.max(...reports.map((r) => r.clock)),
        seqs: Array.from({ length: this.p.topology.groups }, (_, g) => Math.max(...reports.map((r) => r.seqs[g] ?? 0))),
      };
      this.vr.propose(ctx, { kind: 'removed', newConfig, final });
    } else {
      const start = Math.max(...([...c.reports.values()] as AddReport[]).map((r) => r.clock));
      this.vr.propose(ctx, { kind: 'added', newConfig, start });
    }
  }

  private everyone(lead: Leadership): NodeId[] {
    const seqs = new Set<number>([...lead.alive.keys(), ...this.current.active.map((a) => a.sequencer)]);
    const members = [...this.receivers, ...[...seqs].map(sequencerNode), ...allClients(this.p.topology)];
    if (this.p.topology.aggregator) members.push(AGGREGATOR);
    return members;
  }

  private publish(ctx: Ctx<HydraMsg>, lead: Leadership, to: NodeId[]): void {
    for (const m of to) lead.unacked.add(m);
    ctx.multicast(to, this.current);
  }

  private retransmit(ctx: Ctx<HydraMsg>): void {
    const lead = this.lead;
    if (!lead) return;
    if (lead.change) this.sendPrepare(ctx, lead.change);
    if (lead.unacked.size > 0) ctx.multicast([...lead.unacked], this.current);
  }
}
