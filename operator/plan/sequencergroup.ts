import { createHash } from 'node:crypto';
import { hydraMemberId } from '../../node/hydra/topology.js';
import { HYDRA_METRICS } from '../../node/hydra/metrics.js';
import type { HydraParams } from '../../node/hydra/params.js';
import { MAX_SEQUENCERS_IN_SPEC } from '../schema/sequencergroup.js';
import type { SequencerGroup } from '../schema/sequencergroup.js';
import { clientsCommitted, sequencersStamping } from './progress.js';
import type { Plan, PlannedMember, Workload } from './types.js';

/** A stable 31-bit seed from the resource's name, so a testbed's randomness is reproducible. */
export function seedOf(name: string): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0) >>> 1;
}

/** Each sequencer's emulated clock error, drawn deterministically within the spec's bounds. */
function clockOf(name: string, k: number, maxSkew: number, maxDrift: number) {
  const h = createHash('sha256').update(`${name}/sequencer-${k}`).digest();
  const u = (i: number) => h.readUInt32BE(i) / 0x1_0000_0000;
  return { skewMicros: Math.round((u(0) * 2 - 1) * maxSkew), drift: (u(4) * 2 - 1) * maxDrift };
}

/**
 * Turns a SequencerGroup into roles, members and protocol parameters. Timing choices derived
 * from the spec (documented here, used by both the operator and the local runner):
 * - the configuration service ticks at a tenth of the failure timeout (≥ 5 ms) and waits half
 *   a timeout for stragglers once a quorum of every group has reported; its replicas change
 *   view after 250 ms without the primary (as HydraPaxos does) or 10 ticks, whichever is longer;
 * - an addition is abandoned after ten failure timeouts;
 * - at most one solicited flush per 100 µs per sequencer; load feedback every 10 ms;
 * - HydraPaxos: SYNC (and leader heartbeat) every 20 ms, a view change after 250 ms without
 *   the leader (NOPaxos uses 100 ms on bare metal; processes here share two cores), client
 *   retry after 100 ms.
 * Room is left for every sequencer the spec allows, so that scaling up needs no new addresses.
 */
export function planSequencerGroup(sg: SequencerGroup): Plan {
  const s = sg.spec;
  const name = sg.metadata.name;
  const failure = s.failureTimeoutMillis * 1000;
  const configMembers = Array.from({ length: s.configReplicas }, (_, i) => `config-${i}`);
  const hydra: HydraParams = {
    groups: s.groups,
    receiversPerGroup: s.receiversPerGroup,
    clients: s.workload.clients,
    aggregator: s.flush.aggregation,
    sequencers: s.sequencers,
    sequencerClocks: Array.from({ length: MAX_SEQUENCERS_IN_SPEC }, (_, k) => clockOf(name, k, s.clocks.maxSkewMicros, s.clocks.maxDrift)),
    flushIntervalMicros: s.flush.intervalMicros,
    minFlushGapMicros: 100,
    loadIntervalMicros: 10_000,
    joinRetryMicros: 50_000,
    solicitation: s.flush.solicitation,
    solicitIntervalMicros: s.flush.solicitIntervalMicros,
    failureTimeoutMicros: failure,
    configReplicas: s.configReplicas,
    configTickMicros: Math.max(5000, Math.round(failure / 10)),
    configViewChangeMicros: Math.max(250_000, 10 * Math.max(5000, Math.round(failure / 10))),
    reportGraceMicros: Math.round(failure / 2),
    addTimeoutMicros: Math.min(60_000_000, 10 * failure),
    routing: s.routing,
    ratePerClient: s.workload.ratePerClient,
    payloadBytes: s.workload.payloadBytes,
    multiGroupShare: s.workload.multiGroupShare,
    clientTickMicros: 1000,
    application: s.application,
    keySpace: s.workload.keys,
    syncIntervalMicros: 20_000,
    viewChangeMicros: 250_000,
    clientRetryMicros: 100_000,
  };
  // The configuration service survives f of its 2f+1 replicas dying (a restarted one recovers from the others).
  const members: PlannedMember[] = Array.from({ length: s.configReplicas }, (_, i) => (
    { name: `config-${i}`, workload: 'config', phase: 0, expendable: s.configReplicas > 1, load: false }));
  if (s.flush.aggregation) members.push({ name: 'aggregator', workload: 'aggregator', phase: 0, expendable: false, load: false });
  for (let g = 0; g < s.groups; g++) {
    for (let r = 0; r < s.receiversPerGroup; r++) {
      // A replica may die (f of each group's 2f+1): its group changes view or carries on.
      members.push({ name: `receiver-g${g}-${r}`, workload: `receiver-g${g}`, phase: 1, expendable: s.application !== 'none', load: false });
    }
  }
  for (let k = 0; k < s.sequencers; k++) {
    members.push({ name: `sequencer-${k}`, workload: 'sequencer', phase: 2, expendable: true, load: false });
  }
  for (let c = 0; c < s.workload.clients; c++) {
    members.push({ name: `client-${c}`, workload: 'client', phase: 3, expendable: false, load: true });
  }
  const workloads: Workload[] = [
    { name: 'config', kind: 'StatefulSet', replicas: s.configReplicas },
    ...(s.flush.aggregation ? [{ name: 'aggregator', kind: 'StatefulSet' as const, replicas: 1 }] : []),
    ...Array.from({ length: s.groups }, (_, g) => ({ name: `receiver-g${g}`, kind: 'StatefulSet' as const, replicas: s.receiversPerGroup })),
    { name: 'sequencer', kind: 'StatefulSet', replicas: s.sequencers },
    { name: 'client', kind: 'StatefulSet', replicas: s.workload.clients },
  ];
  return {
    kind: 'SequencerGroup',
    name,
    idOf: (member) => hydraMemberId(member, hydra),
    reservedIds: [
      ...members.map((m) => hydraMemberId(m.name, hydra)),
      ...Array.from({ length: MAX_SEQUENCERS_IN_SPEC }, (_, k) => hydraMemberId(`sequencer-${k}`, hydra)),
    ],
    document: { system: 'hydra', name, seed: seedOf(name), logLevel: 'info', network: s.network, hydra },
    members,
    workloads,
    durationSeconds: s.workload.durationSeconds,
    resources: s.resources,
    liveFields: ['hydra.sequencers'],
    reconfigure: {
      // Every replica of the configuration service takes it (a backup forwards it to the primary).
      members: configMembers,
      command: { sequencers: Array.from({ length: s.sequencers }, (_, k) => k) },
      converged: { field: 'activeSequencers', value: s.sequencers },
    },
    // Every replica of the configuration service reports its committed configuration; a majority's value is the service's.
    statusMembers: configMembers,
    statusMetrics: { configuration: HYDRA_METRICS.configuration, activeSequencers: HYDRA_METRICS.activeSequencers },
    describeStatus: (v) => (v.configuration === undefined ? null : `configuration service at configuration ${v.configuration}`),
    // Plain Hydra makes progress when receivers deliver; an application when its clients commit.
    progress: s.workload.clients === 0 || (s.application === 'none' && s.workload.ratePerClient === 0) ? null : {
      counter: s.application === 'none'
        ? { members: 'receiver-', role: 'receivers', metric: HYDRA_METRICS.delivered, labels: {}, did: 'delivered', doing: 'delivering' }
        : clientsCommitted,
      meanwhile: sequencersStamping,
      timeoutMs: Math.max(s.failureTimeoutMillis, s.application === 'none' ? 0 : hydra.viewChangeMicros / 1000),
    },
    keys: null,
    histories: s.application !== 'none',
    drain: null,
    warmupSeconds: 0,
  };
}
