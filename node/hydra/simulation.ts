import type { NodeId } from '../runtime/core.js';
import { Driver } from '../runtime/driver.js';
import { SeededRandom } from '../runtime/random.js';
import { type LinkFaults, SimNetwork } from '../net/sim.js';
import { Aggregator } from './aggregator.js';
import { Client } from './client.js';
import { hydraCodec } from './codec.js';
import { ConfigService } from './config-service.js';
import type { HydraMsg } from './messages.js';
import { type Delivery, Receiver } from './receiver.js';
import { Sequencer } from './sequencer.js';
import {
  AGGREGATOR, CONFIG_SERVICE, type HydraTopology, clientNode, initialConfig, receiverNode, sequencerNode,
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
};

export interface ReceiverLog {
  node: NodeId;
  group: number;
  deliveries: Delivery[];
  /** Virtual time of each delivery. */
  times: number[];
}

/**
 * A whole SequencerGroup testbed inside the simulated network: the same cores and the same
 * Driver as in a pod, with every delivery recorded for the checker.
 */
export class HydraSim {
  readonly net: SimNetwork;
  readonly topology: HydraTopology;
  readonly logs = new Map<NodeId, ReceiverLog>();
  readonly configService: ConfigService;
  private readonly clockRng: SeededRandom;
  readonly reconfigurations: { kind: string; sequencer: number; config: number; at: number }[] = [];
  readonly sent: { client: number; msgId: number; groups: number; at: number }[] = [];

  constructor(readonly o: HydraSimOptions) {
    this.net = new SimNetwork(o.seed, o.faults);
    this.clockRng = new SeededRandom(o.seed ^ 0x5eed);
    this.topology = {
      groups: o.groups,
      receiversPerGroup: o.receiversPerGroup,
      clients: o.clients,
      aggregator: o.aggregator,
      initial: initialConfig(o.sequencers),
    };
    const topology = this.topology;
    const cs = new ConfigService(
      {
        topology, desired: Array.from({ length: o.sequencers }, (_, k) => k), tickUs: 5_000,
        reportGraceUs: 10_000, addTimeoutUs: 10 * o.failureTimeoutUs,
      },
      { reconfigured: (kind, sequencer, config) => this.reconfigurations.push({ kind, sequencer, config, at: this.net.now }) },
    );
    this.configService = cs;
    // The configuration service keeps its state across the run (it is not crashed in tests).
    this.add(CONFIG_SERVICE, () => cs);
    if (o.aggregator) this.add(AGGREGATOR, () => new Aggregator(topology, { forwarded() {}, absorbed() {} }));
    for (let k = 0; k < o.sequencers; k++) {
      if (o.sequencerBootDelayUs > 0) this.net.at(o.sequencerBootDelayUs, () => this.addSequencer(k));
      else this.addSequencer(k);
    }
    for (let g = 0; g < o.groups; g++) {
      for (let r = 0; r < o.receiversPerGroup; r++) {
        const node = receiverNode(g, r);
        const log: ReceiverLog = { node, group: g, deliveries: [], times: [] };
        this.logs.set(node, log);
        this.add(node, () => new Receiver(
          {
            id: node, group: g, topology, solicit: o.solicit, solicitIntervalUs: 300,
            failureTimeoutUs: o.failureTimeoutUs, periodicFlushes: o.flushIntervalUs > 0, gapWaitUs: 300,
          },
          {
            delivered: (d) => {
              log.deliveries.push(d);
              log.times.push(this.net.now);
            },
            rejected() {}, solicited() {}, suspected() {}, configured() {}, pending() {},
          },
        ));
      }
    }
    for (let c = 0; c < o.clients; c++) {
      const rng = new SeededRandom(o.seed * 7919 + c);
      this.add(clientNode(c), () => new Client(
        { index: c, topology, rate: o.rate, payloadBytes: 16, multiGroupShare: o.multiGroupShare, routing: o.routing, tickUs: 250 },
        rng,
        { sent: (m) => this.sent.push({ client: m.client, msgId: m.msgId, groups: m.groups, at: this.net.now }) },
      ));
    }
  }

  /** Boots sequencer k (a new incarnation each boot), with its own skewed, drifting clock. */
  addSequencer(k: number): void {
    const skewUs = (this.clockRng.next() * 2 - 1) * this.o.maxSkewUs;
    const drift = (this.clockRng.next() * 2 - 1) * this.o.maxDrift;
    this.add(sequencerNode(k), () => new Sequencer(
      {
        id: k, incarnation: Math.floor(this.net.now) + 1, topology: this.topology, flushIntervalUs: this.o.flushIntervalUs,
        minFlushGapUs: 100, loadIntervalUs: 5_000, joinRetryUs: 5_000,
      },
      { stamped() {}, flushed() {}, rejected() {}, configured() {} },
    ), { skewUs, drift });
  }

  /** Asks the configuration service for a new set of sequencers, as the operator or runner would. */
  setSequencers(ids: number[]): void {
    this.drivers.get(CONFIG_SERVICE)!.command({ sequencers: ids });
  }

  stopClients(): void {
    for (let c = 0; c < this.o.clients; c++) this.net.crash(clientNode(c));
  }

  private readonly drivers = new Map<NodeId, Driver<HydraMsg>>();

  private add(id: NodeId, make: () => ConstructorParameters<typeof Driver<HydraMsg>>[0], clock?: { skewUs: number; drift: number }): void {
    this.net.addNode(id, ({ transport, clock: c, scheduler }) => {
      const driver = new Driver<HydraMsg>(make(), hydraCodec, transport, c, scheduler);
      this.drivers.set(id, driver);
      return driver;
    }, clock);
  }
}
