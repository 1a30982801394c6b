import type { KvClientObserver } from '../../node/apps/kv-client.js';
import { hotPathBackend } from '../../node/crypto/signature.js';
import { SimNetwork } from '../../node/net/sim.js';
import { pbftClient } from '../../node/pbft/client.js';
import { pbftCodec } from '../../node/pbft/codec.js';
import type { PbftMsg } from '../../node/pbft/messages.js';
import { PbftReplica } from '../../node/pbft/replica.js';
import { pbftSimKeys } from '../../node/pbft/sim-keys.js';
import type { Core, NodeId } from '../../node/runtime/core.js';
import { Driver } from '../../node/runtime/driver.js';
import { SeededRandom } from '../../node/runtime/random.js';

/** Replicas are nodes 10, 11, …; clients 100, 101, … (as in the PBFT simulation tests). */
export const pbftReplicaNode = (i: number): NodeId => 10 + i;
export const pbftClientNode = (c: number): NodeId => 100 + c;

/** Batching and timeouts (µs); the defaults are short, for the calibration's short runs. */
export interface PbftTestbedParams {
  maxBatch: number;
  batchDelayUs: number;
  retryUs: number;
  viewChangeUs: number;
  clientRetryUs: number;
  keySpace: number;
}

const SHORT: Omit<PbftTestbedParams, 'maxBatch'> = { batchDelayUs: 200, retryUs: 2000, viewChangeUs: 20_000, clientRetryUs: 5000, keySpace: 4 };

/**
 * A PBFT testbed with f faulty replicas tolerated (f = 0, one replica: the unreplicated server) on
 * perfect simulated links, keys drawn from `seed`: the same seed builds the same members.
 * `completed` hears each client operation that returns (with its latency in µs); `timeouts` are
 * short, for fast simulated runs, unless given.
 */
export function pbftTestbed(seed: number, f: number, clients: number, requests: number, completed: KvClientObserver['completed'] = () => {}, params: Partial<PbftTestbedParams> = {}) {
  const n = 3 * f + 1;
  const p = { ...SHORT, maxBatch: n === 1 ? 1 : 8, ...params };
  const net = new SimNetwork(seed);
  const rng = new SeededRandom(seed);
  const key = () => Uint8Array.from({ length: 32 }, () => rng.int(256));
  const { pairs, secrets, publicKeys, clientKeys } = pbftSimKeys(key, n, clients);
  const replicaIds = Array.from({ length: n }, (_, i) => pbftReplicaNode(i));
  const cores = new Map<NodeId, Core<PbftMsg>>();
  const boot = (id: NodeId, core: Core<PbftMsg>) => {
    cores.set(id, core);
    net.addNode(id, ({ transport, clock, scheduler }) => new Driver(core, pbftCodec, transport, clock, scheduler));
  };
  for (let i = 0; i < n; i++) {
    boot(replicaIds[i]!, new PbftReplica({
      index: i, f, replicas: replicaIds, pairKeys: pairs[i]!, keys: { secret: secrets[i]!, publicKeys, backend: hotPathBackend },
      clientKey: (c) => clientKeys[c]![i]!, clientNode: pbftClientNode, clients, maxBatch: p.maxBatch, batchDelayUs: p.batchDelayUs, retryUs: p.retryUs, viewChangeUs: p.viewChangeUs,
    }, { executed() {}, checkpointStable() {}, viewStarted() {}, batched() {}, invalid() {}, viewChanged() {}, stateTransferred() {} }));
  }
  for (let c = 0; c < clients; c++) {
    boot(pbftClientNode(c), pbftClient({ client: c, f, replicas: replicaIds, keys: clientKeys[c]!, keySpace: p.keySpace, requests, retryUs: p.clientRetryUs },
      new SeededRandom(seed * 17 + c), { completed, retried() {}, rejectedReply() {} }));
  }
  return { net, replicaIds, core: (id: NodeId) => cores.get(id)! };
}
