import { HydraPaxosSim, type HydraPaxosSimOptions, defaultPaxosSimOptions } from '../../node/hydrapaxos/simulation.js';
import { hydraPaxosCodec } from '../../node/hydrapaxos/codec.js';
import { AGGREGATOR, clientNode, configNode, receiverNode, sequencerNode as hydraSequencerNode } from '../../node/hydra/topology.js';
import type { SimNetwork } from '../../node/net/sim.js';
import { NeoSim } from '../../node/neobft/simulation.js';
import { neoCodec } from '../../node/neobft/codec.js';
import { neoClientNode, replicaNode, sequencerNode as neoSequencerNode } from '../../node/neobft/topology.js';
import type { Codec, Core, NodeId } from '../../node/runtime/core.js';
import { type BftBaseline, bftClientNode, bftCodec, bftReplicaNode, bftTestbed } from './bft-testbed.js';

/** A simulated testbed built afresh from a seed: the same seed gives the same members, keys and run. */
export interface Testbed {
  net: SimNetwork;
  core(id: NodeId): Core<{ type: string }>;
}

export interface TestbedKind {
  codec: Codec<{ type: string }>;
  /** How long (virtual µs) the recording run lasts. */
  runUs: number;
  build(seed: number): Testbed;
}

const CLIENTS = 2;
const REQUESTS = 40;
/** HydraTxn as bench hydra-apps runs it: 3 shards (groups of 3 replicas), 3 sequencers. */
export const TXN_SHARDS = 3;
export const TXN_SEQUENCERS = 3;
const asCodec = <M extends { type: string }>(c: Codec<M>) => c as unknown as Codec<{ type: string }>;

/** A NeoBFT testbed (f = 1, two sequencers) authenticating its order with MAC vectors (hm) or signatures (pk). */
function neobft(scheme: 'hm' | 'pk'): TestbedKind {
  return {
    codec: asCodec(neoCodec),
    runUs: 200_000,
    build(seed) {
      const sim = new NeoSim({ seed, f: 1, scheme, clients: CLIENTS, requestsPerClient: REQUESTS, faults: {} });
      return { net: sim.net, core: (id) => sim.cores.get(id)! };
    },
  };
}

/** A BFT baseline's testbed (f = 1; PBFT with f = 0 is the unreplicated server). */
function baseline(protocol: BftBaseline, f: number): TestbedKind {
  return { codec: bftCodec(protocol), runUs: 200_000, build: (seed) => bftTestbed(protocol, seed, f, CLIENTS, REQUESTS) };
}

/** A HydraPaxos or HydraTxn testbed (3 replicas per group): `o` sets the application, sequencers and groups. */
function hydraPaxos(o: Partial<HydraPaxosSimOptions>): TestbedKind {
  return {
    codec: asCodec(hydraPaxosCodec),
    runUs: 200_000,
    build(seed) {
      const sim = new HydraPaxosSim({ ...defaultPaxosSimOptions, seed, receiversPerGroup: 3, clients: CLIENTS, requestsPerClient: REQUESTS, ...o });
      return { net: sim.net, core: (id) => sim.hydra.core(id) as Core<{ type: string }> };
    },
  };
}

/** The testbeds inputs are recorded in: short closed-loop key-value runs on perfect links. */
export const TESTBEDS = {
  'neobft-hm': neobft('hm'),
  'neobft-pk': neobft('pk'),
  pbft: baseline('pbft', 1),
  unreplicated: baseline('pbft', 0),
  hotstuff: baseline('hotstuff', 1),
  zyzzyva: baseline('zyzzyva', 1),
  // With the flush aggregator bench hydra-apps runs (its HydraPaxos configurations have one).
  hydrapaxos: hydraPaxos({ sequencers: 1, groups: 1, aggregator: true }),
  // Half the transactions on two shards, so every replica takes in both kinds; with the flush
  // aggregator, as the paper setting runs it (replicas take in its combined flushes, not the sequencers').
  hydratxn: hydraPaxos({ application: 'hydratxn', sequencers: TXN_SEQUENCERS, groups: TXN_SHARDS, multiGroupShare: 0.5, aggregator: true }),
} satisfies Record<string, TestbedKind>;

export type TestbedName = keyof typeof TESTBEDS;

/** A role: the members of a testbed whose recorded inputs calibrate it (one entry per role). */
export interface Role {
  testbed: TestbedName;
  members: NodeId[];
}

const range = (n: number, node: (i: number) => NodeId) => Array.from({ length: n }, (_, i) => node(i));

export const ROLES = {
  'neobft-hm-replica': { testbed: 'neobft-hm', members: range(4, replicaNode) },
  'neobft-hm-sequencer': { testbed: 'neobft-hm', members: [neoSequencerNode(0)] },
  'neobft-hm-client': { testbed: 'neobft-hm', members: range(CLIENTS, neoClientNode) },
  'neobft-pk-replica': { testbed: 'neobft-pk', members: range(4, replicaNode) },
  'neobft-pk-sequencer': { testbed: 'neobft-pk', members: [neoSequencerNode(0)] },
  'pbft-replica': { testbed: 'pbft', members: range(4, bftReplicaNode) },
  'pbft-client': { testbed: 'pbft', members: range(CLIENTS, bftClientNode) },
  'unreplicated-server': { testbed: 'unreplicated', members: [bftReplicaNode(0)] },
  'unreplicated-client': { testbed: 'unreplicated', members: range(CLIENTS, bftClientNode) },
  'hotstuff-replica': { testbed: 'hotstuff', members: range(4, bftReplicaNode) },
  'hotstuff-client': { testbed: 'hotstuff', members: range(CLIENTS, bftClientNode) },
  'zyzzyva-replica': { testbed: 'zyzzyva', members: range(4, bftReplicaNode) },
  'zyzzyva-client': { testbed: 'zyzzyva', members: range(CLIENTS, bftClientNode) },
  'hydrapaxos-replica': { testbed: 'hydrapaxos', members: range(3, (r) => receiverNode(0, r)) },
  'hydra-sequencer': { testbed: 'hydrapaxos', members: [hydraSequencerNode(0)] },
  'hydrapaxos-client': { testbed: 'hydrapaxos', members: range(CLIENTS, clientNode) },
  'hydratxn-replica': { testbed: 'hydratxn', members: range(3 * TXN_SHARDS, (i) => receiverNode(Math.floor(i / 3), i % 3)) },
  'hydratxn-client': { testbed: 'hydratxn', members: range(CLIENTS, clientNode) },
  'hydra-aggregator': { testbed: 'hydrapaxos', members: [AGGREGATOR] },
  'hydra-config': { testbed: 'hydrapaxos', members: range(3, configNode) },
} satisfies Record<string, Role>;

export type RoleName = keyof typeof ROLES;
