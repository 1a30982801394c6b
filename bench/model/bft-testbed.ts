import type { KvClientObserver } from '../../node/apps/kv-client.js';
import { hotPathBackend } from '../../node/crypto/signature.js';
import { hotstuffClient } from '../../node/hotstuff/client.js';
import { hotstuffCodec } from '../../node/hotstuff/codec.js';
import { HotStuffReplica } from '../../node/hotstuff/replica.js';
import { SimNetwork } from '../../node/net/sim.js';
import { pbftClient } from '../../node/pbft/client.js';
import { pbftCodec } from '../../node/pbft/codec.js';
import { PbftReplica } from '../../node/pbft/replica.js';
import { pbftSimKeys } from '../../node/pbft/sim-keys.js';
import type { Codec, Core, NodeId, Random } from '../../node/runtime/core.js';
import { Driver } from '../../node/runtime/driver.js';
import { SeededRandom } from '../../node/runtime/random.js';
import { type ZyzzyvaClientObserver, zyzzyvaClient } from '../../node/zyzzyva/client.js';
import { zyzzyvaCodec } from '../../node/zyzzyva/codec.js';
import { ZyzzyvaReplica } from '../../node/zyzzyva/replica.js';

/** Replicas are nodes 10, 11, …; clients 100, 101, … (as in the BFT simulation tests). */
export const bftReplicaNode = (i: number): NodeId => 10 + i;
export const bftClientNode = (c: number): NodeId => 100 + c;

/** The BFT baselines a testbed can run (PBFT with f = 0 is the unreplicated server). */
export type BftBaseline = 'pbft' | 'hotstuff' | 'zyzzyva';

/**
 * Batching and timeouts (µs); the defaults are short, for the calibration's short runs.
 * `viewChangeUs` is HotStuff's pacemaker view timeout; `commitUs` is how long a Zyzzyva client
 * waits for 3f+1 matching responses before it commits 2f+1 (BFTCluster's default).
 */
export interface BftTestbedParams {
  maxBatch: number;
  batchDelayUs: number;
  retryUs: number;
  viewChangeUs: number;
  clientRetryUs: number;
  commitUs: number;
  keySpace: number;
}

const SHORT: Omit<BftTestbedParams, 'maxBatch'> = { batchDelayUs: 200, retryUs: 2000, viewChangeUs: 20_000, clientRetryUs: 5000, commitUs: 2000, keySpace: 4 };

type Keys = ReturnType<typeof pbftSimKeys>;
type Common = { f: number; replicaIds: NodeId[]; clients: number; keys: Keys; p: BftTestbedParams };
const ignore = () => {};
const quiet = { executed: ignore, checkpointStable: ignore, viewStarted: ignore, batched: ignore, invalid: ignore, viewChanged: ignore, stateTransferred: ignore, committed: ignore, rolledBack: ignore };

/** How each baseline's replica and client are made from the testbed's keys and parameters (the same ones for all). */
const MEMBERS: Record<BftBaseline, {
  codec: Codec<{ type: string }>;
  replica(i: number, c: Common): Core<never>;
  client(client: number, c: Common, requests: number, rng: Random, obs: ZyzzyvaClientObserver): Core<never>;
}> = {
  pbft: {
    codec: pbftCodec as unknown as Codec<{ type: string }>,
    replica: (i, c) => new PbftReplica({ ...replicaParams(i, c), pairKeys: c.keys.pairs[i]!, viewChangeUs: c.p.viewChangeUs }, quiet) as Core<never>,
    client: (k, c, requests, rng, obs) => pbftClient(clientParams(k, c, requests), rng, obs) as Core<never>,
  },
  hotstuff: {
    codec: hotstuffCodec as unknown as Codec<{ type: string }>,
    replica: (i, c) => new HotStuffReplica({ ...replicaParams(i, c), viewTimeoutUs: c.p.viewChangeUs }, quiet) as Core<never>,
    client: (k, c, requests, rng, obs) => hotstuffClient(clientParams(k, c, requests), rng, obs) as Core<never>,
  },
  zyzzyva: {
    codec: zyzzyvaCodec as unknown as Codec<{ type: string }>,
    replica: (i, c) => new ZyzzyvaReplica({ ...replicaParams(i, c), pairKeys: [], viewChangeUs: c.p.viewChangeUs }, quiet) as Core<never>,
    client: (k, c, requests, rng, obs) => zyzzyvaClient({ ...clientParams(k, c, requests), publicKeys: c.keys.publicKeys, backend: hotPathBackend, commitTimeoutUs: c.p.commitUs }, rng, obs) as Core<never>,
  },
};

const replicaParams = (i: number, c: Common) => ({
  index: i, f: c.f, replicas: c.replicaIds, keys: { secret: c.keys.secrets[i]!, publicKeys: c.keys.publicKeys, backend: hotPathBackend },
  clientKey: (k: number) => c.keys.clientKeys[k]![i]!, clientNode: bftClientNode, clients: c.clients, maxBatch: c.p.maxBatch, batchDelayUs: c.p.batchDelayUs, retryUs: c.p.retryUs,
});

const clientParams = (k: number, c: Common, requests: number) => ({
  client: k, f: c.f, replicas: c.replicaIds, keys: c.keys.clientKeys[k]!, keySpace: c.p.keySpace, requests, retryUs: c.p.clientRetryUs,
});

/** The codec a baseline's members speak. */
export const bftCodec = (protocol: BftBaseline) => MEMBERS[protocol].codec;

/**
 * A testbed of a BFT baseline tolerating f faulty replicas (PBFT with f = 0, one replica: the
 * unreplicated server) on perfect simulated links, keys drawn from `seed`: the same seed builds the
 * same members. `completed` hears each client operation that returns (with its latency in µs);
 * `timeouts` are short, for fast simulated runs, unless given.
 */
export function bftTestbed(protocol: BftBaseline, seed: number, f: number, clients: number, requests: number, completed: KvClientObserver['completed'] = () => {}, params: Partial<BftTestbedParams> = {}) {
  const n = 3 * f + 1;
  const p = { ...SHORT, maxBatch: n === 1 ? 1 : 8, ...params };
  const net = new SimNetwork(seed);
  const rng = new SeededRandom(seed);
  const key = () => Uint8Array.from({ length: 32 }, () => rng.int(256));
  const c: Common = { f, replicaIds: Array.from({ length: n }, (_, i) => bftReplicaNode(i)), clients, keys: pbftSimKeys(key, n, clients), p };
  const m = MEMBERS[protocol];
  const cores = new Map<NodeId, Core<never>>();
  const boot = (id: NodeId, core: Core<never>) => {
    cores.set(id, core);
    net.addNode(id, ({ transport, clock, scheduler }) => new Driver(core, m.codec as Codec<never>, transport, clock, scheduler));
  };
  for (let i = 0; i < n; i++) boot(c.replicaIds[i]!, m.replica(i, c));
  // Every client observer hears only completions (Zyzzyva's also its two paths, ignored).
  const obs = { completed, retried: ignore, rejectedReply: ignore, fastPath: ignore, twoPhase: ignore };
  for (let k = 0; k < clients; k++) boot(bftClientNode(k), m.client(k, c, requests, new SeededRandom(seed * 17 + k), obs));
  return { net, replicaIds: c.replicaIds, codec: m.codec, core: (id: NodeId) => cores.get(id)! as Core<{ type: string }> };
}
