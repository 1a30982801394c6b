import { HydraPaxosSim, defaultPaxosSimOptions } from '../../node/hydrapaxos/simulation.js';
import { hydraPaxosCodec } from '../../node/hydrapaxos/codec.js';
import { AGGREGATOR, clientNode, configNode, receiverNode, sequencerNode as hydraSequencerNode } from '../../node/hydra/topology.js';
import type { SimNetwork } from '../../node/net/sim.js';
import { NeoSim } from '../../node/neobft/simulation.js';
import { neoCodec } from '../../node/neobft/codec.js';
import { neoClientNode, replicaNode, sequencerNode as neoSequencerNode } from '../../node/neobft/topology.js';
import { pbftCodec } from '../../node/pbft/codec.js';
import type { Codec, Core, NodeId } from '../../node/runtime/core.js';
import { pbftClientNode, pbftReplicaNode, pbftTestbed } from './pbft-testbed.js';

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

/** The testbeds inputs are recorded in: short closed-loop key-value runs on perfect links. */
export const TESTBEDS = {
  'neobft-hm': neobft('hm'),
  'neobft-pk': neobft('pk'),
  pbft: {
    codec: asCodec(pbftCodec),
    runUs: 200_000,
    build: (seed) => pbftTestbed(seed, 1, CLIENTS, REQUESTS),
  },
  unreplicated: {
    codec: asCodec(pbftCodec),
    runUs: 200_000,
    build: (seed) => pbftTestbed(seed, 0, CLIENTS, REQUESTS),
  },
  hydrapaxos: {
    codec: asCodec(hydraPaxosCodec),
    runUs: 200_000,
    build(seed) {
      // With the flush aggregator bench hydra-apps runs (its HydraPaxos configurations have one).
      const sim = new HydraPaxosSim({ ...defaultPaxosSimOptions, seed, sequencers: 1, groups: 1, receiversPerGroup: 3, clients: CLIENTS, requestsPerClient: REQUESTS, aggregator: true });
      return { net: sim.net, core: (id) => sim.hydra.core(id) as Core<{ type: string }> };
    },
  },
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
  'pbft-replica': { testbed: 'pbft', members: range(4, pbftReplicaNode) },
  'pbft-client': { testbed: 'pbft', members: range(CLIENTS, pbftClientNode) },
  'unreplicated-server': { testbed: 'unreplicated', members: [pbftReplicaNode(0)] },
  'unreplicated-client': { testbed: 'unreplicated', members: range(CLIENTS, pbftClientNode) },
  'hydrapaxos-replica': { testbed: 'hydrapaxos', members: range(3, (r) => receiverNode(0, r)) },
  'hydra-sequencer': { testbed: 'hydrapaxos', members: [hydraSequencerNode(0)] },
  'hydrapaxos-client': { testbed: 'hydrapaxos', members: range(CLIENTS, clientNode) },
  'hydra-aggregator': { testbed: 'hydrapaxos', members: [AGGREGATOR] },
  'hydra-config': { testbed: 'hydrapaxos', members: range(3, configNode) },
} satisfies Record<string, Role>;

export type RoleName = keyof typeof ROLES;
