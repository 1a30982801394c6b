import type { NodeDocument } from '../config.js';
import { memberBasics } from './member.js';
import { EmulatedClock, wallMicros } from '../runtime/clock.js';
import { runMember } from '../runtime/process.js';
import { SeededRandom } from '../runtime/random.js';
import { Aggregator } from '../hydra/aggregator.js';
import { Client } from '../hydra/client.js';
import { hydraCodec } from '../hydra/codec.js';
import { ConfigService, type ConfigServiceObserver } from '../hydra/config-service.js';
import { hydraMetrics } from '../hydra/metrics.js';
import type { HydraParams } from '../hydra/params.js';
import { Receiver, type ReceiverObserver, type ReceiverParams } from '../hydra/receiver.js';
import { failureCheckUs } from '../hydra/receiver-liveness.js';
import { kvClientMetrics, recordingHistory } from '../apps/kv-metrics.js';
import { type HydraApplication, clientApplication, replicaApplication } from '../hydrapaxos/application.js';
import { hydraPaxosClient } from '../hydrapaxos/client.js';
import { hydraPaxosCodec } from '../hydrapaxos/codec.js';
import type { HydraPaxosMsg } from '../hydrapaxos/messages.js';
import { hydraPaxosMetrics } from '../hydrapaxos/metrics.js';
import { HydraPaxosReplica } from '../hydrapaxos/replica.js';
import { reportInvariantViolations } from '../protocol/invariant.js';
import type { Codec, Core } from '../runtime/core.js';
import type { HydraMsg } from '../hydra/messages.js';
import type { Logger } from 'pino';
import { Sequencer } from '../hydra/sequencer.js';
import {
  AGGREGATOR, type HydraTopology, MAX_RECEIVERS_PER_GROUP,
  clientNode, configNode, initialConfig, receiverNode, receiversOf, sequencerNode,
} from '../hydra/topology.js';

export function hydraTopology(p: HydraParams): HydraTopology {
  return {
    groups: p.groups,
    receiversPerGroup: p.receiversPerGroup,
    clients: p.clients,
    aggregator: p.aggregator,
    configReplicas: p.configReplicas,
    initial: initialConfig(p.sequencers),
  };
}

function withSuspicionLog(o: ReceiverObserver, logger: Logger): ReceiverObserver {
  return {
    ...o,
    suspected: (sequencer) => {
      o.suspected(sequencer);
      logger.warn({ sequencer }, `sequencer ${sequencer} silent past the failure timeout; reported to the configuration service`);
    },
  };
}

/** A configuration replica's changes, view changes, recoveries and broken invariants are logged. */
function withConfigLog(o: ConfigServiceObserver, logger: Logger): ConfigServiceObserver {
  return {
    reconfigured: (kind, sequencer, config, active) => {
      o.reconfigured(kind, sequencer, config, active);
      logger.info({ kind, sequencer, config, active }, `configuration ${config}: ${kind} sequencer ${sequencer}`);
    },
    replication: {
      ...o.replication,
      normal: (view, primary, how) => {
        o.replication.normal(view, primary, how);
        logger.info({ view, primary, how }, `replication view ${view} (${how}), ${primary ? 'primary' : 'backup'}`);
      },
      adopted: (commit, state) => {
        o.replication.adopted(commit, state);
        logger.info({ commit, config: state.config.config }, `took the service's state at op ${commit} (configuration ${state.config.config})`);
      },
      invariantViolated: (kind, detail) => {
        o.replication.invariantViolated(kind, detail);
        logger.error({ kind }, `invariant broken: ${detail}`);
      },
    },
  };
}

/**
 * A receiver that is a HydraPaxos replica of its group; view changes and state transfers are
 * logged, and a broken invariant is counted and logged rather than stopping the member.
 */
function hydraPaxosReplica(application: HydraApplication, p: HydraParams, receiver: ReceiverParams, metrics: ReturnType<typeof hydraPaxosMetrics>,
  logger: Logger): HydraPaxosReplica {
  const { id, group, ...rest } = receiver;
  reportInvariantViolations((kind, detail) => {
    metrics.invariantViolated(kind);
    logger.error({ kind }, `invariant broken: ${detail}`);
  });
  return new HydraPaxosReplica({
    id, group, replicas: receiversOf(receiver.topology, group), receiver: rest, ...replicaApplication(application, receiver.topology, group), syncIntervalUs: p.syncIntervalMicros,
    viewChangeUs: p.viewChangeMicros, gapRetryUs: Math.max(1000, 4 * p.solicitIntervalMicros), gapCommitUs: Math.max(3000, 12 * p.solicitIntervalMicros),
    stateRetryUs: p.viewChangeMicros,
  }, {
    ...metrics,
    viewChanged: (view, reason) => {
      metrics.viewChanged(view, reason);
      logger.warn({ view, reason }, `view change to view ${view} (${reason})`);
    },
    stateTransferred: () => {
      metrics.stateTransferred();
      logger.info('adopted a peer\'s state');
    },
  });
}

/** Starts the Hydra member named `name` from the testbed's node document. */
export async function startHydraMember(doc: NodeDocument & { system: 'hydra' }, name: string): Promise<void> {
  const p = doc.hydra;
  const { me, registry, runtime, logger } = memberBasics(doc, name);
  const { id, role } = me;
  const metrics = hydraMetrics(registry, wallMicros);
  const topology = hydraTopology(p);
  let clock = new EmulatedClock();
  let core: Core<HydraMsg> | Core<HydraPaxosMsg>;
  let routes: Record<string, () => unknown> | undefined;
  if (role === 'config') {
    core = new ConfigService({
      topology, replica: id - configNode(0), desired: Array.from({ length: p.sequencers }, (_, k) => k), tickUs: p.configTickMicros,
      reportGraceUs: p.reportGraceMicros, addTimeoutUs: p.addTimeoutMicros, viewChangeUs: p.configViewChangeMicros,
    }, withConfigLog(metrics.configService(p.sequencers), logger));
  } else if (id === AGGREGATOR) {
    core = new Aggregator(topology, failureCheckUs(p.failureTimeoutMicros), metrics.aggregator());
  } else if (role === 'sequencer') {
    const k = id - sequencerNode(0);
    const c = p.sequencerClocks[k] ?? { skewMicros: 0, drift: 0 };
    clock = new EmulatedClock(c.skewMicros, c.drift);
    core = new Sequencer({
      id: k, incarnation: wallMicros(), topology, flushIntervalUs: p.flushIntervalMicros, minFlushGapUs: p.minFlushGapMicros,
      loadIntervalUs: p.loadIntervalMicros, joinRetryUs: p.joinRetryMicros,
    }, metrics.sequencer(k));
  } else if (role === 'receiver') {
    const receiver: ReceiverParams = {
      id, group: Math.floor((id - receiverNode(0, 0)) / MAX_RECEIVERS_PER_GROUP), topology, solicit: p.solicitation,
      solicitIntervalUs: p.solicitIntervalMicros, failureTimeoutUs: p.failureTimeoutMicros, periodicFlushes: p.flushIntervalMicros > 0,
      gapWaitUs: p.solicitIntervalMicros,
    };
    const observer = withSuspicionLog(metrics.receiver(), logger);
    core = p.application === 'none'
      ? new Receiver(receiver, observer)
      : hydraPaxosReplica(p.application, p, receiver, hydraPaxosMetrics(registry, observer), logger);
  } else if (p.application !== 'none') {
    const recorded = recordingHistory(kvClientMetrics(registry, p.application));
    const client = hydraPaxosClient({
      client: id - clientNode(0), topology, requests: Infinity, retryUs: p.clientRetryMicros,
      ...clientApplication(p.application, topology.groups, p.keySpace, p.multiGroupShare),
    }, new SeededRandom(doc.seed * 7919 + id), recorded.observer);
    core = client;
    routes = { '/history.json': () => ({ completed: recorded.history, pending: client.pending }) };
  } else {
    core = new Client({
      index: id - clientNode(0), topology, rate: p.ratePerClient, payloadBytes: p.payloadBytes, multiGroupShare: p.multiGroupShare,
      routing: p.routing, tickUs: p.clientTickMicros,
    }, new SeededRandom(doc.seed * 7919 + id), metrics.client());
  }
  const codec = p.application === 'none' ? hydraCodec : hydraPaxosCodec;
  await runMember(runtime, me, registry, logger, { core: core as Core<HydraPaxosMsg>, codec: codec as Codec<HydraPaxosMsg>, clock, routes });
}
