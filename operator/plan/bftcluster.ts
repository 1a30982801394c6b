import { generateNeoKeys } from '../../node/neobft/keys.js';
import { BFT_METRICS } from '../../node/neobft/metrics.js';
import type { NeobftParams } from '../../node/neobft/params.js';
import { INTRUDER_NODE, neoClientNode, neoMemberId, replicaNode, sequencerNode } from '../../node/neobft/topology.js';
import type { BftCluster } from '../schema/bftcluster.js';
import { seedOf } from './sequencergroup.js';
import { clientsCommitted, clientsRetrying } from './progress.js';
import type { Plan, PlannedMember } from './types.js';

/**
 * Turns a BFTCluster into members and parameters: for NeoBFT the AOM sequencers (the first
 * orders epoch 1, the others stand by), 3f+1 replicas and clients; for the baselines (PBFT,
 * HotStuff, Zyzzyva) the replicas and clients; unreplicated, one server (a PBFT replica with
 * f = 0) and clients. The PK sequencer signs at most every
 * `maxUnsigned + 1` messages and, idle, signs its last link after one gap timeout's tenth.
 * Sequencers are expendable: a dead one is replaced by an epoch change onto the next. So are
 * replicas, up to f of which the protocol tolerates (a dead leader or primary is replaced by a
 * view change; more than f dead stall the clients, which the summary shows); the unreplicated
 * server is not.
 */
export function planBftCluster(b: BftCluster): Plan {
  const s = b.spec;
  const name = b.metadata.name;
  const unreplicated = s.protocol === 'unreplicated';
  const neo = s.protocol.startsWith('neobft');
  const replicas = unreplicated ? 1 : s.replicas;
  const sequencers = neo ? s.sequencers : 0;
  const neobft: NeobftParams = {
    protocol: s.protocol === 'neobft-hm' || s.protocol === 'neobft-pk' ? 'neobft' : s.protocol === 'unreplicated' ? 'pbft' : s.protocol,
    scheme: s.protocol === 'neobft-pk' ? 'pk' : 'hm',
    f: unreplicated ? 0 : s.f,
    replicas,
    sequencers,
    maxBatch: unreplicated ? 1 : s.batching.maxBatch,
    batchDelayMicros: s.batching.delayMicros,
    clients: s.workload.clients,
    signBudgetPerSecond: s.signing.budgetPerSecond,
    maxUnsigned: s.signing.maxUnsigned,
    idleSignMicros: Math.max(100, Math.round(s.timeouts.gapMicros / 10)),
    gapMicros: s.timeouts.gapMicros,
    retryMicros: s.timeouts.retryMicros,
    clientRetryMicros: s.timeouts.clientRetryMillis * 1000,
    commitMicros: s.timeouts.commitMicros,
    viewChangeMicros: s.timeouts.viewChangeMillis * 1000,
    keySpace: s.workload.keySpace,
    byzantineNetwork: neo && s.byzantineNetwork,
    signedRequests: neo && s.signedRequests,
    faults: { replicas: s.faults.replicas, intruder: s.faults.byzantineClient, sequencer: s.faults.sequencer },
  };
  const members: PlannedMember[] = [
    ...Array.from({ length: replicas }, (_, i) => ({ name: `replica-${i}`, workload: 'replica', phase: 0, expendable: !unreplicated, load: false })),
    ...Array.from({ length: sequencers }, (_, k) => ({ name: `sequencer-${k}`, workload: 'sequencer', phase: 1, expendable: true, load: false })),
    ...Array.from({ length: s.workload.clients }, (_, c) => ({ name: `client-${c}`, workload: 'client', phase: 2, expendable: false, load: true })),
    ...(s.faults.byzantineClient ? [{ name: 'intruder-0', workload: 'intruder', phase: 2, expendable: true, load: false }] : []),
  ];
  return {
    kind: 'BFTCluster',
    name,
    idOf: (member) => neoMemberId(member, { replicas, clients: s.workload.clients, sequencers, intruder: s.faults.byzantineClient }),
    reservedIds: [
      ...Array.from({ length: sequencers }, (_, k) => sequencerNode(k)), ...Array.from({ length: replicas }, (_, i) => replicaNode(i)),
      ...Array.from({ length: s.workload.clients }, (_, c) => neoClientNode(c)), ...(s.faults.byzantineClient ? [INTRUDER_NODE] : []),
    ],
    document: { system: 'neobft', name, seed: seedOf(name), logLevel: 'info', network: s.network, neobft },
    members,
    workloads: [
      { name: 'replica', kind: 'StatefulSet', replicas },
      ...(neo ? [{ name: 'sequencer', kind: 'StatefulSet' as const, replicas: sequencers }] : []),
      { name: 'client', kind: 'StatefulSet', replicas: s.workload.clients },
      ...(s.faults.byzantineClient ? [{ name: 'intruder', kind: 'StatefulSet' as const, replicas: 1 }] : []),
    ],
    durationSeconds: s.workload.durationSeconds,
    resources: s.resources,
    liveFields: [],
    reconfigure: null,
    // Every replica's view of the epoch and leader: a restarted replica lags until it catches up.
    statusMembers: neo ? Array.from({ length: replicas }, (_, i) => `replica-${i}`) : [],
    statusMetrics: neo ? { epoch: BFT_METRICS.epoch, leader: BFT_METRICS.leader } : {},
    describeStatus: (v) => (v.epoch === undefined ? null : `replicas at epoch ${v.epoch}${v.leader === undefined ? '' : `, leader replica-${v.leader}`}`),
    progress: s.workload.clients === 0 ? null : {
      counter: clientsCommitted,
      meanwhile: clientsRetrying,
      timeoutMs: Math.max(s.timeouts.viewChangeMillis, s.timeouts.clientRetryMillis),
    },
    keys: () => generateNeoKeys(replicas, s.workload.clients),
    histories: true,
    drain: null,
    warmupSeconds: 0,
  };
}
