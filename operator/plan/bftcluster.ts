import { generateNeoKeys } from '../../node/neobft/keys.js';
import type { NeobftParams } from '../../node/neobft/params.js';
import { SEQUENCER, neoClientNode, neoMemberId, replicaNode } from '../../node/neobft/topology.js';
import type { BftCluster } from '../schema/bftcluster.js';
import { seedOf } from './sequencergroup.js';
import type { Plan, PlannedMember } from './types.js';

/**
 * Turns a BFTCluster into members and parameters: for NeoBFT one AOM sequencer, 3f+1 replicas
 * and clients; for PBFT the replicas and clients; unreplicated, one server and clients.
 * The PK sequencer signs at most every `maxUnsigned + 1` messages and, idle, signs its last
 * link after one gap timeout's tenth. The membership is fixed (every field but the workload
 * needs a new testbed); a replaced sequencer will go through an epoch change once view change
 * is implemented.
 */
export function planBftCluster(b: BftCluster): Plan {
  const s = b.spec;
  const name = b.metadata.name;
  const unreplicated = s.protocol === 'unreplicated';
  const neo = s.protocol.startsWith('neobft');
  const replicas = unreplicated ? 1 : s.replicas;
  const neobft: NeobftParams = {
    protocol: neo ? 'neobft' : 'pbft',
    scheme: s.protocol === 'neobft-pk' ? 'pk' : 'hm',
    f: unreplicated ? 0 : s.f,
    replicas,
    maxBatch: unreplicated ? 1 : s.batching.maxBatch,
    batchDelayMicros: s.batching.delayMicros,
    clients: s.workload.clients,
    signBudgetPerSecond: s.signing.budgetPerSecond,
    maxUnsigned: s.signing.maxUnsigned,
    idleSignMicros: Math.max(100, Math.round(s.timeouts.gapMicros / 10)),
    gapMicros: s.timeouts.gapMicros,
    retryMicros: s.timeouts.retryMicros,
    clientRetryMicros: s.timeouts.clientRetryMillis * 1000,
    keySpace: s.workload.keySpace,
    byzantineNetwork: neo && s.byzantineNetwork,
  };
  const members: PlannedMember[] = [
    ...Array.from({ length: replicas }, (_, i) => ({ name: `replica-${i}`, workload: 'replica', phase: 0, expendable: false, load: false })),
    ...(neo ? [{ name: 'sequencer', workload: 'sequencer', phase: 1, expendable: false, load: false }] : []),
    ...Array.from({ length: s.workload.clients }, (_, c) => ({ name: `client-${c}`, workload: 'client', phase: 2, expendable: false, load: true })),
  ];
  return {
    kind: 'BFTCluster',
    name,
    idOf: (member) => neoMemberId(member, replicas, s.workload.clients),
    reservedIds: [SEQUENCER, ...Array.from({ length: replicas }, (_, i) => replicaNode(i)), ...Array.from({ length: s.workload.clients }, (_, c) => neoClientNode(c))],
    document: { system: 'neobft', name, seed: seedOf(name), logLevel: 'info', network: s.network, neobft },
    members,
    workloads: [
      { name: 'replica', kind: 'StatefulSet', replicas },
      ...(neo ? [{ name: 'sequencer', kind: 'StatefulSet' as const, replicas: 1 }] : []),
      { name: 'client', kind: 'StatefulSet', replicas: s.workload.clients },
    ],
    durationSeconds: s.workload.durationSeconds,
    resources: s.resources,
    liveFields: [],
    reconfigure: null,
    statusMember: neo ? 'replica-0' : null,
    statusMetrics: neo ? { epoch: 'switchyard_neobft_epoch', leader: 'switchyard_neobft_leader' } : {},
    keys: () => generateNeoKeys(replicas, s.workload.clients),
    histories: true,
  };
}
