import type { NodeId } from '../runtime/core.js';

/**
 * Member ids of a BFTCluster testbed: sequencer k is 1 + k (at most 9), replica i is 10 + i,
 * client c is 100 + c, the injected Byzantine client (`intruder-0`) 99. Epoch e is ordered by sequencer (e − 1) mod the number of sequencers,
 * so the others stand by for a failover.
 */
export const MAX_SEQUENCERS = 9;
export const sequencerNode = (k: number): NodeId => 1 + k;
export const sequencerOfEpoch = (epoch: number, sequencers: number): NodeId => sequencerNode((epoch - 1) % sequencers);
export const replicaNode = (i: number): NodeId => 10 + i;
export const neoClientNode = (c: number): NodeId => 100 + c;
export const INTRUDER_NODE: NodeId = 99;

export function neoMemberName(id: NodeId): string {
  if (id === INTRUDER_NODE) return 'intruder-0';
  if (id >= 1 && id < 10) return `sequencer-${id - 1}`;
  if (id >= 10 && id < 100) return `replica-${id - 10}`;
  if (id >= 100 && id < 1100) return `client-${id - 100}`;
  throw new Error(`no BFTCluster member has id ${id}`);
}

/** Parses a member name back to its id, checking it exists in this testbed. */
export function neoMemberId(name: string, shape: { replicas: number; clients: number; sequencers: number; intruder: boolean }): NodeId {
  if (name === 'intruder-0' && shape.intruder) return INTRUDER_NODE;
  const m = name.match(/^(sequencer|replica|client)-(\d+)$/);
  if (!m) throw new Error(`unknown BFTCluster member "${name}" (expected sequencer-N, replica-N or client-N${shape.intruder ? ' or intruder-0' : ''})`);
  const k = Number(m[2]);
  const [bound, make] = m[1] === 'sequencer' ? [shape.sequencers, sequencerNode] : m[1] === 'replica' ? [shape.replicas, replicaNode] : [shape.clients, neoClientNode];
  if (k >= bound) throw new Error(`${m[1]} ${k} does not exist (${bound} ${m[1]}s)`);
  return make(k);
}
