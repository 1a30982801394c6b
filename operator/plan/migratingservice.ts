import { CAPYBARA_METRICS } from '../../node/capybara/metrics.js';
import { capybaraMemberId } from '../../node/capybara/topology.js';
import type { CapybaraParams } from '../../node/capybara/params.js';
import { defaultMigrationPolicy, reactiveModeQueue } from '../../node/capybara/policy.js';
import { SWITCH, clientNode, serverNode } from '../../node/capybara/topology.js';
import type { MigratingService } from '../schema/migratingservice.js';
import { seedOf } from './sequencergroup.js';
import type { Plan, PlannedMember } from './types.js';

/**
 * Turns a MigratingService into members and parameters: the switch first (it owns the virtual
 * IP), then the servers, then the clients. No member is expendable: a dead server takes its
 * connections with it (Capybara migrates for load, it does not fail over).
 */
export function planMigratingService(m: MigratingService): Plan {
  const s = m.spec;
  const name = m.metadata.name;
  // The queue knobs' defaults differ by mode, as in the artifact.
  const queue = s.migration.mode === 'reactive' ? reactiveModeQueue : defaultMigrationPolicy;
  const capybara: CapybaraParams = {
    servers: s.servers,
    clients: s.workload.clients,
    servicePort: s.switch.servicePort,
    app: s.application,
    mode: s.migration.mode,
    assign: s.switch.assignment,
    signalIntervalMicros: s.switch.signalIntervalMicros,
    migrationRetryMicros: s.migration.retryMicros,
    serviceMicros: s.serviceMicros,
    forcedMigrationMicros: s.migration.forcedEveryMillis === null ? null : Math.round(s.migration.forcedEveryMillis * 1000),
    policy: {
      rpsThreshold: s.migration.rpsThreshold,
      epsilon: s.migration.thresholdEpsilon,
      minTotalRps: s.migration.minClusterRps,
      connRateCapRps: s.migration.connectionRateCapRps,
      cooldownMicros: s.migration.cooldownMillis * 1000,
      maxPerDecision: s.migration.maxPerDecision,
      queueThreshold: s.migration.queueThreshold ?? queue.queueThreshold,
      reactiveCooldownMicros: s.migration.reactiveCooldownMillis === null ? queue.reactiveCooldownUs : s.migration.reactiveCooldownMillis * 1000,
      shortAtUtilisation: s.migration.shortAtUtilisation,
    },
    workload: {
      connectionsPerClient: s.workload.connectionsPerClient,
      ratePerClient: s.workload.ratePerClient,
      loop: s.workload.loop,
      zipf: s.workload.zipf,
      stepAtMicros: s.workload.step.atSeconds === null ? null : Math.round(s.workload.step.atSeconds * 1e6),
      stepFactor: s.workload.step.factor,
      bursts: s.workload.bursts.everySeconds === null ? null
        : { everyMicros: Math.round(s.workload.bursts.everySeconds * 1e6), lengthMicros: s.workload.bursts.lengthMillis * 1000, factor: s.workload.bursts.factor },
      stateBytes: s.workload.stateBytes,
    },
  };
  const members: PlannedMember[] = [
    { name: 'switch', workload: 'switch', phase: 0, expendable: false, load: false },
    ...Array.from({ length: s.servers }, (_, i) => ({ name: `server-${i}`, workload: 'server', phase: 1, expendable: false, load: false })),
    ...Array.from({ length: s.workload.clients }, (_, c) => ({ name: `client-${c}`, workload: 'client', phase: 2, expendable: false, load: true })),
  ];
  return {
    kind: 'MigratingService',
    name,
    idOf: (member) => capybaraMemberId(member, capybara),
    reservedIds: [SWITCH, ...Array.from({ length: s.servers }, (_, i) => serverNode(i)), ...Array.from({ length: s.workload.clients }, (_, c) => clientNode(c))],
    document: { system: 'capybara', name, seed: seedOf(name), logLevel: 'info', network: s.network, capybara },
    members,
    workloads: [
      { name: 'switch', kind: 'StatefulSet', replicas: 1 },
      { name: 'server', kind: 'StatefulSet', replicas: s.servers },
      { name: 'client', kind: 'StatefulSet', replicas: s.workload.clients },
    ],
    durationSeconds: s.workload.durationSeconds,
    resources: s.resources,
    liveFields: [],
    reconfigure: null,
    statusMembers: [],
    statusMetrics: {},
    describeStatus: () => null,
    progress: s.workload.clients === 0 || s.workload.ratePerClient === 0 ? null : {
      counter: { members: 'server-', role: 'servers', metric: CAPYBARA_METRICS.served, labels: {}, did: 'served', doing: 'serving' },
      meanwhile: {
        members: 'switch', role: 'the switch', metric: CAPYBARA_METRICS.switchForwarded, labels: { direction: 'to-server' }, did: 'forwarded', doing: 'forwarding',
      },
      timeoutMs: s.migration.retryMicros / 1000,
    },
    keys: null,
    histories: false,
    drain: { command: 'stop', outstanding: CAPYBARA_METRICS.clientOutstanding },
    // Handshakes and every connection's first requests are start-up, not load: a second per
    // thousand connections (measured: 4000 connections still dominated the second second).
    warmupSeconds: Math.max(1, Math.ceil((s.workload.clients * s.workload.connectionsPerClient) / 1000)),
  };
}
