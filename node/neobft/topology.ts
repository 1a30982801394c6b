import type { NodeId } from '../runtime/core.js';

/** Member ids of a BFTCluster testbed: the sequencer is 1, replica i is 10 + i, client c is 100 + c. */
export const SEQUENCER: NodeId = 1;
export const replicaNode = (i: number): NodeId => 10 + i;
export const neoClientNode = (c: number): NodeId => 100 + c;

export function neoMemberName(id: NodeId): string {
  if (id === SEQUENCER) return 'sequencer';
  if (id >= 10 && id < 100) return `replica-${id - 10}`;
  if (id >= 100 && id < 1100) return `client-${id - 100}`;
  throw new Error(`no BFTCluster member has id ${id}`);
}

/** Parses a member name back to its id, checking it exists in this testbed. */
export function neoMemberId(name: string, replicas: number, clients: number): NodeId {
  if (name === 'sequencer') return SEQUENCER;
  let m = name.match(/^replica-(\d+)$/);
  if (m) {
    const i = Number(m[1]);
    if (i >= replicas) throw new Error(`replica ${i} does not exist (${replicas} replicas)`);
    return replicaNode(i);
  }
  m = name.match(/^client-(\d+)$/);
  if (m) {
    const c = Number(m[1]);
    if (c >= clients) throw new Error(`client ${c} does not exist (${clients} clients)`);
    return neoClientNode(c);
  }
  throw new Error(`unknown BFTCluster member "${name}" (expected sequencer, replica-N or client-N)`);
}
