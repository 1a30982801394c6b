import type { NodeId } from '../runtime/core.js';
import type { Config } from './messages.js';
import type { HydraParams } from './params.js';

/**
 * Who is who in a SequencerGroup testbed. Member ids are fixed by role and ordinal so that any
 * member can address any other — including sequencers added later — without a directory:
 * replica i of the configuration service is 10 + i, the flush aggregator 2, sequencer k is
 * 100 + k, receiver r of group g is 200 + 50·g + r, client c is 2000 + c.
 */
export const AGGREGATOR: NodeId = 2;
export const MAX_CONFIG_REPLICAS = 7;
export const MAX_SEQUENCERS = 64;
export const MAX_RECEIVERS_PER_GROUP = 50;
export const MAX_CLIENTS = 1000;

export const configNode = (i: number): NodeId => 10 + i;
export const sequencerNode = (k: number): NodeId => 100 + k;
export const receiverNode = (g: number, r: number): NodeId => 200 + MAX_RECEIVERS_PER_GROUP * g + r;
export const clientNode = (c: number): NodeId => 2000 + c;

/** Stable member names: process names locally, pod names (after the resource's name) in a cluster. */
export function hydraMemberName(id: NodeId): string {
  if (id >= 10 && id < 10 + MAX_CONFIG_REPLICAS) return `config-${id - 10}`;
  if (id === AGGREGATOR) return 'aggregator';
  if (id >= 100 && id < 100 + MAX_SEQUENCERS) return `sequencer-${id - 100}`;
  if (id >= 200 && id < 2000) {
    const g = Math.floor((id - 200) / MAX_RECEIVERS_PER_GROUP);
    return `receiver-g${g}-${(id - 200) % MAX_RECEIVERS_PER_GROUP}`;
  }
  if (id >= 2000 && id < 2000 + MAX_CLIENTS) return `client-${id - 2000}`;
  throw new Error(`no Hydra member has id ${id}`);
}

/** Parses a member name (`sequencer-2`, `receiver-g1-0`, …) back to its id, checking it exists in this testbed. */
export function hydraMemberId(name: string, p: HydraParams): NodeId {
  let m: RegExpMatchArray | null;
  if ((m = name.match(/^config-(\d+)$/))) {
    const i = Number(m[1]);
    if (i >= p.configReplicas) throw new Error(`configuration replica ${i} does not exist (${p.configReplicas} replicas)`);
    return configNode(i);
  }
  if (name === 'aggregator') {
    if (!p.aggregator) throw new Error('this testbed has no flush aggregator (spec.flush.aggregation is false)');
    return AGGREGATOR;
  }
  if ((m = name.match(/^sequencer-(\d+)$/))) {
    const k = Number(m[1]);
    if (k >= MAX_SEQUENCERS) throw new Error(`sequencer ${k} is out of range (max ${MAX_SEQUENCERS - 1})`);
    return sequencerNode(k);
  }
  if ((m = name.match(/^receiver-g(\d+)-(\d+)$/))) {
    const g = Number(m[1]);
    const r = Number(m[2]);
    if (g >= p.groups || r >= p.receiversPerGroup || r >= MAX_RECEIVERS_PER_GROUP) {
      throw new Error(`receiver ${r} of group ${g} does not exist (${p.groups} groups of ${p.receiversPerGroup})`);
    }
    return receiverNode(g, r);
  }
  if ((m = name.match(/^client-(\d+)$/))) {
    const c = Number(m[1]);
    if (c >= p.clients || c >= MAX_CLIENTS) throw new Error(`client ${c} does not exist (${p.clients} clients)`);
    return clientNode(c);
  }
  throw new Error(`unknown Hydra member "${name}" (expected config-I, aggregator, sequencer-K, receiver-gG-R or client-C)`);
}

export interface HydraTopology {
  groups: number;
  receiversPerGroup: number;
  clients: number;
  aggregator: boolean;
  /** Replicas of the configuration service (2f + 1). */
  configReplicas: number;
  /** The configuration every member boots with (configuration 1). */
  initial: Config;
}

/**
 * The configuration service's replicas. Members send it everything (JOIN, SUSPECT, reports,
 * acknowledgements) to all of them: the primary acts, backups ignore it, so no member has to
 * know which replica leads and none waits for a failed one.
 */
export function configNodes(t: HydraTopology): NodeId[] {
  return Array.from({ length: t.configReplicas }, (_, i) => configNode(i));
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
