import { type ClientWorkload, kvWorkload } from '../apps/kv-client.js';
import { kvStateMachine } from '../apps/kv.js';
import type { StateMachineKind } from '../apps/state-machine.js';
import { txnStateMachine } from '../apps/txn.js';
import { txnClientWorkload } from '../apps/txn-workload.js';
import { type HydraTopology, receiversOf } from '../hydra/topology.js';
import type { NodeId } from '../runtime/core.js';
import { decodeTxnRequest, groupsOf } from '../apps/txn.js';
import { kvGroups } from './client.js';

/**
 * The replicated applications on a SequencerGroup: HydraPaxos (every group an independent
 * replicated key-value shard; a request goes to its key's group) and HydraTxn (every group a
 * replicated shard of a transactional store; a transaction goes to every shard it touches, and
 * a slot one shard lost is resolved with the others).
 */
export type HydraApplication = 'hydrapaxos' | 'hydratxn';

export function replicaApplication(application: HydraApplication, topology: HydraTopology, group: number):
  { app: StateMachineKind; shards: NodeId[][] | null } {
  if (application === 'hydrapaxos') return { app: kvStateMachine(topology.clients), shards: null };
  return {
    app: txnStateMachine(group, topology.groups, topology.clients),
    shards: Array.from({ length: topology.groups }, (_, g) => receiversOf(topology, g)),
  };
}

export interface ClientApplication {
  workload: ClientWorkload<unknown, unknown>;
  groupsOf(payload: Uint8Array): number;
}

/** `keySpace` sizes HydraPaxos's key space; `multiShard` is HydraTxn's share of transactions spanning two shards. */
export function clientApplication(application: HydraApplication, groups: number, keySpace: number, multiShard: number): ClientApplication {
  if (application === 'hydrapaxos') return { workload: kvWorkload(keySpace, groups) as ClientWorkload<unknown, unknown>, groupsOf: kvGroups(groups) };
  return {
    workload: txnClientWorkload(groups, multiShard) as ClientWorkload<unknown, unknown>,
    groupsOf: (payload) => groupsOf(decodeTxnRequest(payload).ops, groups),
  };
}
