import type { NodeId } from '../runtime/core.js';
import type { Config } from './messages.js';

/**
 * Who is who in a SequencerGroup testbed. Member ids are fixed by role and ordinal so that any
 * member can address any other — including sequencers added later — without a directory:
 * the configuration service is 1, the flush aggregator 2, sequencer k is 100 + k, receiver r of
 * group g is 200 + 50·g + r, client c is 2000 + c.
 */
export const CONFIG_SERVICE: NodeId = 1;
export const AGGREGATOR: NodeId = 2;
export const MAX_SEQUENCERS = 64;
export const MAX_RECEIVERS_PER_GROUP = 50;
export const MAX_CLIENTS = 1000;

export const sequencerNode = (k: number): NodeId => 100 + k;
export const receiverNode = (g: number, r: number): NodeId => 200 + MAX_RECEIVERS_PER_GROUP * g + r;
export const clientNode = (c: number): NodeId => 2000 + c;

/** Stable member names: process names locally, pod names (after the resource's name) in a cluster. */
export function hydraMemberName(id: NodeId): string {
  if (id === CONFIG_SERVICE) return 'config';
  if (id === AGGREGATOR) return 'aggregator';
  if (id >= 100 && id < 100 + MAX_SEQUENCERS) return `sequencer-${id - 100}`;
  if (id >= 200 && id < 2000) {
    const g = Math.floor((id - 200) / MAX_RECEIVERS_PER_GROUP);
    return `receiver-g${g}-${(id - 200) % MAX_RECEIVERS_PER_GROUP}`;
  }
  if (id >= 2000 && id < 2000 + MAX_CLIENTS) return `client-${id - 2000}`;
  throw new Error(`no Hydra member has id ${id}`);
}

export interface HydraTopology {
  groups: number;
  receiversPerGroup: number;
  clients: number;
  aggregator: boolean;
  /** The configuration every member boots with (configuration 1). */
  initial: Config;
}

export function receiversOf(t: HydraTopology, g: number): NodeId[] {
  return Array.from({ length: t.receiversPerGroup }, (_, r) => receiverNode(g, r));
}

export function allReceivers(t: HydraTopology): NodeId[] {
  return Array.from({ length: t.groups }, (_, g) => receiversOf(t, g)).flat();
}

export function allClients(t: HydraTopology): NodeId[] {
  return Array.from({ length: t.clients }, (_, c) => clientNode(c));
}

/** Receivers of every group in a destination bitmap. */
export function receiversOfGroups(t: HydraTopology, groups: number): NodeId[] {
  const out: NodeId[] = [];
  for (let g = 0; g < t.groups; g++) if (groups & (1 << g)) out.push(...receiversOf(t, g));
  return out;
}

export function initialConfig(sequencers: number): Config {
  return {
    type: 'config',
    config: 1,
    active: Array.from({ length: sequencers }, (_, k) => ({ sequencer: k, joined: 1, start: 0, incarnation: 0 })),
    finals: [],
  };
}
