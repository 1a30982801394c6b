import type { Codec, Core, NodeId } from '../runtime/core.js';
import { Driver } from '../runtime/driver.js';
import { SeededRandom } from '../runtime/random.js';
import { type LinkFaults, SimNetwork } from '../net/sim.js';
import { Aggregator } from './aggregator.js';
import { Client } from './client.js';
import { hydraCodec } from './codec.js';
import { ConfigService } from './config-service.js';
import type { ConfigCommand, ConfigState } from './config-state.js';
import { configCommandPart, configStatePart } from './config-wire.js';
import { partHex } from '../vr/codec.js';
import { ReplicationChecker } from '../vr/check.js';
import type { HydraMsg } from './messages.js';
import { type Delivery, Receiver, type ReceiverObserver, type ReceiverParams } from './receiver.js';
import { failureCheckUs } from './receiver-liveness.js';
import { Sequencer } from './sequencer.js';
import {
  AGGREGATOR, type HydraTopology, clientNode, configNode, initialConfig, receiverNode, sequencerNode,
} from './topology.js';

export interface HydraSimOptions {
  seed: number;
  sequencers: number;
  groups: number;
  receiversPerGroup: number;
  clients: number;
  /** Messages per second per client. */
  rate: number;
  multiGroupShare: number;
  aggregator: boolean;
  solicit: 'immediate' | 'batched';
  flushIntervalUs: number;
  routing: 'random' | 'load-aware';
  faults: Partial<LinkFaults>;
  /** Each sequencer's clock is skewed by up to ± this and drifts by up to ± maxDrift. */
  maxSkewUs: number;
  maxDrift: number;
  failureTimeoutUs: number;
  /** Sequencer processes boot this late (as when processes start in phases). */
  sequencerBootDelayUs: number;
  /** Replicas of the configuration service (2f + 1). */
  configReplicas: number;
  /**
   * The members' other periods, as the planner sets them for a testbed (operator/plan/sequencergroup.ts);
   * unset ones keep the simulation's short defaults.
   */
  timing?: Partial<HydraSimTiming>;
}

export interface HydraSimTiming {
  configTickUs: number;
  configViewChangeUs: number;
  reportGraceUs: number;
  addTimeoutUs: number;
  joinRetryUs: number;
  loadIntervalUs: number;
  solicitIntervalUs: number;
  gapWaitUs: number;
}

export const defaultSimOptions: HydraSimOptions = {
  seed: 1,
  sequencers: 3,
  groups: 2,
  receiversPerGroup: 3,
  clients: 4,
  rate: 2000,
  multiGroupShare: 0.3,
  aggregator: false,
  solicit: 'immediate',
  flushIntervalUs: 1000,
  routing: 'random',
  faults: {},
  maxSkewUs: 0,
  maxDrift: 0,
  failureTimeoutUs: 20_000,
  sequencerBootDelayUs: 0,
  configReplicas: 3,
};

export interface ReceiverLog {
  node: NodeId;
  group: number;
  deliveries: Delivery[];
  /** Virtual time of each delivery. */
  times: number[];
  /** Which boot of the receiver this is (0: the first; a restart starts a new log with empty state). */
  boot: number;
}

/** An application on top of Hydra: its codec, its receiver-side core and its clients. */
export interface HydraSimApp<M extends { type: string }> {
  codec: Codec<M>;
  /** The core of receiver `node`; it embeds a Hydra receiver built from `params`, reporting to `observer`. */
  receiver(node: NodeId, params: ReceiverParams, observer: ReceiverObserver): Core<M>;
  client(c: number, rng: SeededRandom, topology: HydraTopology): Core<M>;
}

/**
 * A whole SequencerGroup testbed inside the simulated network: the same cores and the same
 * Driver as in a pod, with every delivery recorded for the checker. With an application, its
 * cores take the receivers' and clients' places.
 */
export class HydraSim<M extends { type: string } = HydraMsg> {
  readonly net: SimNetwork;
  readonly topology: HydraTopology;
  /** The current log of every receiver (its latest boot). */
  readonly logs = new Map<NodeId, ReceiverLog>();
  /** Every receiver's log of every boot, in boot order. */
  readonly lives: ReceiverLog[] = [];
  private readonly clockRng: SeededRandom;
  readonly timing: HydraSimTiming;
  /** Committed configuration changes, one per configuration number (every replica reports each; they must agree). */
  readonly reconfigurations: { kind: string; sequencer: number; config: number; at: number }[] = [];
  /** The configuration service's replicated log: same command and state at every op, nothing undone. */
  readonly replication = new ReplicationChecker<ConfigState, ConfigCommand>(
    { command: (c) => partHex(configCommandPart, c), state: (st) => partHex(configStatePart, st) },
    (st) => st.config.config,
  );
  /** How often a configuration replica became normal, by how (view changes, recoveries, …). */
  readonly replicaEvents = { 'view-change': 0, recovery: 0, 'first-start': 0, 'state-transfer': 0 };
  /** The configuration each receiver installed last. */
  readonly installed = new Map<NodeId, number>();
  readonly sent: { client: number; msgId: number; groups: number; at: number }[] = [];
  /** Messages the receivers refused, by reason. */
  readonly rejections = new Map<string, number>();

  constructor(readonly o: HydraSimOptions, private readonly app?: HydraSimApp<M>) {
    this.net = new SimNetwork(o.seed, o.faults);
    this.clockRng = new SeededRandom(o.seed ^ 0x5eed);
    this.topology = {
      groups: o.groups,
      receiversPerGroup: o.receiversPerGroup,
      clients: o.clients,
      aggregator: o.aggregator,
      configReplicas: o.configReplicas,
      initial: initialConfig(o.sequencers),
    };
    const topology = this.topology;
    this.timing = {
      configTickUs: 5_000, configViewChangeUs: 25_000, reportGraceUs: 10_000, addTimeoutUs: 10 * o.failureTimeoutUs, joinRetryUs: 5_000,
      loadIntervalUs: 5_000, solicitIntervalUs: 300, gapWaitUs: 300, ...o.timing,
    };
    const t = this.timing;
    for (let i = 0; i < o.configReplicas; i++) this.addConfigReplica(i);
    if (o.aggregator) this.add(AGGREGATOR, () => new Aggregator(topology, failureCheckUs(o.failureTimeoutUs), { forwarded() {}, absorbed() {} }));
    for (let k = 0; k < o.sequencers; k++) {
      if (o.sequencerBootDelayUs > 0) this.net.at(o.sequencerBootDelayUs, () => this.addSequencer(k));
      else this.addSequencer(k);
    }
    for (let g = 0; g < o.groups; g++) {
      for (let r = 0; r < o.receiversPerGroup; r++) {
        const node = receiverNode(g, r);
        const params: ReceiverParams = {
          id: node, group: g, topology, solicit: o.solicit, solicitIntervalUs: t.solicitIntervalUs,
          failureTimeoutUs: o.failureTimeoutUs, periodicFlushes: o.flushIntervalUs > 0, gapWaitUs: t.gapWaitUs,
        };
        this.add(node, () => {
          const log: ReceiverLog = { node, group: g, deliveries: [], times: [], boot: this.logs.has(node) ? this.logs.get(node)!.boot + 1 : 0 };
          this.logs.set(node, log);
          this.lives.push(log);
          const observer: ReceiverObserver = {
            delivered: (d) => {
              log.deliveries.push(d);
              log.times.push(this.net.now);
            },
            rejected: (reason) => this.rejections.set(reason, (this.rejections.get(reason) ?? 0) + 1),
            solicited() {}, suspected() {},
            configured: (config) => this.installed.set(node, config),
            pending() {},
          };
          return this.app ? this.app.receiver(node, params, observer) : new Receiver(params, observer);
        });
      }
    }
    for (let c = 0; c < o.clients; c++) {
      const rng = new SeededRandom(o.seed * 7919 + c);
      this.add(clientNode(c), () => this.app ? this.app.client(c, rng, topology) : new Client(
        { index: c, topology, rate: o.rate, payloadBytes: 16, multiGroupShare: o.multiGroupShare, routing: o.routing, tickUs: 250 },
        rng,
        { sent: (m) => this.sent.push({ client: m.client, msgId: m.msgId, groups: m.groups, at: this.net.now }) },
      ));
      if (this.app) this.clientNodes.push(clientNode(c));
    }
  }

  /** Boots sequencer k (a new incarnation each boot), with its own skewed, drifting clock. */
  addSequencer(k: number): void {
    const skewUs = (this.clockRng.next() * 2 - 1) * this.o.maxSkewUs;
    const drift = (this.clockRng.next() * 2 - 1) * this.o.maxDrift;
    this.add(sequencerNode(k), () => new Sequencer(
      {
        id: k, incarnation: Math.floor(this.net.now) + 1, topology: this.topology, flushIntervalUs: this.o.flushIntervalUs,
        minFlushGapUs: 100, loadIntervalUs: this.timing.loadIntervalUs, joinRetryUs: this.timing.joinRetryUs,
      },
      { stamped() {}, flushed() {}, rejected() {}, configured() {} },
    ), { skewUs, drift });
  }

  /** Replica i of the configuration service; every boot starts it with nothing (it recovers from the others). */
  private addConfigReplica(i: number): void {
    let boots = 0;
    this.add(configNode(i), () => new ConfigService({
      topology: this.topology, replica: i, desired: Array.from({ length: this.o.sequencers }, (_, k) => k), tickUs: this.timing.configTickUs,
      reportGraceUs: this.timing.reportGraceUs, addTimeoutUs: this.timing.addTimeoutUs, viewChangeUs: this.timing.configViewChangeUs,
    }, {
      reconfigured: (kind, sequencer, config) => this.noteReconfiguration(kind, sequencer, config),
      replication: { ...this.replication.observer(i, ++boots, () => this.net.now), normal: (_view, _primary, how) => this.replicaEvents[how]++, changingView() {} },
    }));
  }

  private noteReconfiguration(kind: string, sequencer: number, config: number): void {
    const known = this.reconfigurations.find((r) => r.config === config);
    if (!known) this.reconfigurations.push({ kind, sequencer, config, at: this.net.now });
    else if (known.kind !== kind || known.sequencer !== sequencer) {
      this.replication.problems.push(`configuration ${config}: ${kind} ${sequencer} at one replica, ${known.kind} ${known.sequencer} at another`);
    }
  }

  /** The replica of the configuration service that leads now (the most advanced one when none does). */
  get configService(): ConfigService {
    const replicas = Array.from({ length: this.o.configReplicas }, (_, i) => configNode(i))
      .filter((id) => this.net.isUp(id)).map((id) => this.core(id) as unknown as ConfigService);
    const primary = replicas.filter((c) => c.replication.isPrimary).sort((a, b) => b.replication.currentView - a.replication.currentView)[0];
    return primary ?? replicas.sort((a, b) => b.replication.committed - a.replication.committed)[0]!;
  }

  /** Asks the configuration service for a new set of sequencers, as the operator or runner would (at its first live replica). */
  setSequencers(ids: number[]): void {
    const to = Array.from({ length: this.o.configReplicas }, (_, i) => configNode(i)).find((id) => this.net.isUp(id));
    if (to !== undefined) this.drivers.get(to)!.command({ sequencers: ids });
  }

  stopClients(): void {
    for (let c = 0; c < this.o.clients; c++) this.net.crash(clientNode(c));
  }

  /** Sends an admin command to a member's core (e.g. `{ stop: true }` to a client). */
  command(id: NodeId, command: unknown): void {
    this.drivers.get(id)!.command(command);
  }

  /** The core currently running on a member (a restart replaces it). */
  core(id: NodeId): Core<M> {
    return this.cores.get(id)!;
  }

  private readonly clientNodes: NodeId[] = [];
  private readonly drivers = new Map<NodeId, Driver<M>>();
  private readonly cores = new Map<NodeId, Core<M>>();

  /** Hydra's own cores take part in an application's testbed unchanged (they ignore what is not theirs). */
  private add(id: NodeId, make: () => Core<M> | Core<HydraMsg>, clock?: { skewUs: number; drift: number }): void {
    const codec = (this.app?.codec ?? hydraCodec) as Codec<M>;
    this.net.addNode(id, ({ transport, clock: c, scheduler }) => {
      const core = make() as Core<M>;
      const driver = new Driver<M>(core, codec, transport, c, scheduler);
      this.drivers.set(id, driver);
      this.cores.set(id, core);
      return driver;
    }, clock);
  }
}
