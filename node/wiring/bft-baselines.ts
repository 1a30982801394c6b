import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { NodeDocument } from '../config.js';
import type { KvInput, KvOutput } from '../check/kv-model.js';
import type { Operation } from '../check/linearizability.js';
import type { KvClientObserver } from '../apps/kv-client.js';
import { recordingHistory } from '../apps/kv-metrics.js';
import { hotPathBackend } from '../crypto/signature.js';
import { EmulatedClock } from '../runtime/clock.js';
import type { Codec, Core, NodeId, Random } from '../runtime/core.js';
import { type MemberIdentity, type MemberRuntime, runMember } from '../runtime/process.js';
import { SeededRandom } from '../runtime/random.js';
import { type NeoKeys, bytes, publicKeyOf } from '../neobft/keys.js';
import type { BftSystem, neobftMetrics } from '../neobft/metrics.js';
import type { NeobftParams } from '../neobft/params.js';
import { neoClientNode, replicaNode } from '../neobft/topology.js';
import { type ReplicaFault, garbageClient } from '../neobft/faults.js';
import { pbftClient } from '../pbft/client.js';
import { pbftCodec } from '../pbft/codec.js';
import type { PbftMsg } from '../pbft/messages.js';
import { PbftReplica } from '../pbft/replica.js';
import { hotstuffClient } from '../hotstuff/client.js';
import { hotstuffCodec } from '../hotstuff/codec.js';
import { hotstuffByzantine } from '../hotstuff/faults.js';
import type { HotStuffMsg } from '../hotstuff/messages.js';
import { HotStuffReplica } from '../hotstuff/replica.js';
import { type ZyzzyvaClientObserver, zyzzyvaClient } from '../zyzzyva/client.js';
import { zyzzyvaCodec } from '../zyzzyva/codec.js';
import { zyzzyvaByzantine } from '../zyzzyva/faults.js';
import type { ZyzzyvaMsg } from '../zyzzyva/messages.js';
import { ZyzzyvaReplica } from '../zyzzyva/replica.js';

/** A replica's keys as the member's key file gives them. */
export interface BaselineReplicaKeys {
  index: number;
  /** Its secp256k1 key and every replica's public key. */
  signing: { secret: Uint8Array; publicKeys: Uint8Array[]; backend: typeof hotPathBackend };
  /** pairKeys[j]: the MAC key it shares with replica j. */
  pairKeys: Uint8Array[];
  clientKey(client: number): Uint8Array;
}

/** A client's keys: the MAC key it shares with each replica, and the replicas' public keys. */
export interface BaselineClientKeys {
  macs: Uint8Array[];
  replicaPublicKeys: Uint8Array[];
}

type Metrics = ReturnType<typeof neobftMetrics>;

/**
 * What one BFT baseline (PBFT, HotStuff, Zyzzyva) puts into its member processes; the rest —
 * replicas, clients, the intruder, injected faults, the client history — is the same for all.
 */
export interface Baseline<M, O extends KvClientObserver = KvClientObserver> {
  codec: Codec<M>;
  /** The client metrics' `system` label. */
  system: BftSystem;
  /** A client request carrying `payload`: what the intruder sprays at replica 0. */
  request(payload: Uint8Array): M;
  replica(p: NeobftParams, keys: BaselineReplicaKeys, replicas: NodeId[], metrics: Metrics): Core<M>;
  /** A replica of the protocol turned Byzantine (absent: the protocol takes no injected replica faults). */
  byzantine?(core: Core<M>, fault: Exclude<ReplicaFault, 'silent'>, keys: BaselineReplicaKeys, garbage: () => Uint8Array): Core<M>;
  /** A client's metrics (`switchyard_client_*` and what the protocol adds). */
  clientMetrics(metrics: Metrics, system: BftSystem): O;
  client(p: NeobftParams, client: number, keys: BaselineClientKeys, replicas: NodeId[], rng: Random, obs: O): Core<M> & { readonly pending: Operation<KvInput, KvOutput> | null };
}

/** The parameters every baseline's replica takes alike. */
const replicaParams = (p: NeobftParams, k: BaselineReplicaKeys, replicas: NodeId[]) => ({
  index: k.index, f: p.f, replicas, keys: k.signing, clientKey: k.clientKey, clientNode: neoClientNode, clients: p.clients,
  maxBatch: p.maxBatch, batchDelayUs: p.batchDelayMicros, retryUs: p.retryMicros,
});

/** The parameters every baseline's client takes alike. */
const clientParams = (p: NeobftParams, client: number, keys: BaselineClientKeys, replicas: NodeId[]) => ({
  client, f: p.f, replicas, keys: keys.macs, keySpace: p.keySpace, requests: Infinity, retryUs: p.clientRetryMicros,
});

const pbft: Baseline<PbftMsg> = {
  codec: pbftCodec,
  system: 'pbft',
  request: (payload) => ({ type: 'request', payload }),
  replica: (p, k, replicas, metrics) => new PbftReplica({ ...replicaParams(p, k, replicas), pairKeys: k.pairKeys, viewChangeUs: p.viewChangeMicros }, metrics.pbftReplica()),
  clientMetrics: (metrics, system) => metrics.client(system),
  client: (p, client, keys, replicas, rng, obs) => pbftClient(clientParams(p, client, keys, replicas), rng, obs),
};

const hotstuff: Baseline<HotStuffMsg> = {
  codec: hotstuffCodec,
  system: 'hotstuff',
  request: (payload) => ({ type: 'request', payload }),
  replica: (p, k, replicas, metrics) => new HotStuffReplica({ ...replicaParams(p, k, replicas), viewTimeoutUs: p.viewChangeMicros }, metrics.hotstuffReplica()),
  byzantine: (core, fault, k, garbage) => hotstuffByzantine(core as HotStuffReplica, fault, k.signing, k.clientKey, garbage),
  clientMetrics: (metrics, system) => metrics.client(system),
  client: (p, client, keys, replicas, rng, obs) => hotstuffClient(clientParams(p, client, keys, replicas), rng, obs),
};

const zyzzyva: Baseline<ZyzzyvaMsg, ZyzzyvaClientObserver> = {
  codec: zyzzyvaCodec,
  system: 'zyzzyva',
  request: (payload) => ({ type: 'request', payload }),
  replica: (p, k, replicas, metrics) => new ZyzzyvaReplica({ ...replicaParams(p, k, replicas), pairKeys: k.pairKeys, viewChangeUs: p.viewChangeMicros }, metrics.zyzzyvaReplica()),
  byzantine: (core, fault, k, garbage) => zyzzyvaByzantine(core as ZyzzyvaReplica, fault, k.signing, k.clientKey, garbage),
  clientMetrics: (metrics) => metrics.zyzzyvaClient(),
  client: (p, client, keys, replicas, rng, obs) => zyzzyvaClient({
    ...clientParams(p, client, keys, replicas), publicKeys: keys.replicaPublicKeys, backend: hotPathBackend, commitTimeoutUs: p.commitMicros,
  }, rng, obs),
};

const BASELINES: { [P in Exclude<NeobftParams['protocol'], 'neobft'>]: Baseline<never, never> } = {
  pbft: pbft as Baseline<never, never>,
  hotstuff: hotstuff as Baseline<never, never>,
  zyzzyva: zyzzyva as Baseline<never, never>,
};

/** The members of a BFT baseline (PBFT with one replica and f = 0: the unreplicated server). */
export async function startBaselineMember(doc: NodeDocument & { system: 'neobft' }, runtime: MemberRuntime, me: MemberIdentity, keys: NeoKeys, registry: Registry, logger: Logger,
  metrics: Metrics): Promise<void> {
  const p = doc.neobft;
  if (p.protocol === 'neobft') throw new Error('NeoBFT is not a baseline');
  const b = BASELINES[p.protocol] as Baseline<unknown>;
  if (me.role === 'sequencer') throw new Error(`${p.protocol} has no sequencer`);
  const replicaIds = Array.from({ length: p.replicas }, (_, i) => replicaNode(i));
  let core: Core<unknown>;
  let routes: Record<string, () => unknown> | undefined;
  if (me.role === 'intruder') {
    logger.warn('injected fault: a Byzantine client sending malformed requests to replica 0');
    core = garbageClient(replicaIds[0]!, b.request, new SeededRandom(doc.seed ^ 0x1badd));
  } else if (me.role === 'replica') {
    core = replicaCore(b, doc, me.id - replicaNode(0), keys, replicaIds, metrics, logger);
  } else {
    const c = me.id - neoClientNode(0);
    const recorded = recordingHistory(b.clientMetrics(metrics, p.replicas === 1 ? 'unreplicated' : b.system));
    const clientKeys = { macs: keys.clients[c]!.map(bytes), replicaPublicKeys: keys.replicas.map(publicKeyOf) };
    const client = b.client(p, c, clientKeys, replicaIds, new SeededRandom(doc.seed * 7919 + c), recorded.observer);
    core = client;
    routes = { '/history.json': () => ({ completed: recorded.history, pending: client.pending }) };
  }
  await runMember(runtime, me, registry, logger, { core, codec: b.codec, clock: new EmulatedClock(), routes });
}

/** Replica `index`, correct or (as spec.faults says) Byzantine. */
function replicaCore(b: Baseline<unknown>, doc: NodeDocument & { system: 'neobft' }, index: number, keys: NeoKeys, replicaIds: NodeId[], metrics: Metrics, logger: Logger): Core<unknown> {
  const p = doc.neobft;
  const k: BaselineReplicaKeys = {
    index,
    signing: { secret: bytes(keys.replicas[index]!), publicKeys: keys.replicas.map(publicKeyOf), backend: hotPathBackend },
    pairKeys: keys.pairs[index]!.map(bytes),
    clientKey: (c) => bytes(keys.clients[c]?.[index] ?? '00'.repeat(32)),
  };
  const replica = b.replica(p, k, replicaIds, metrics);
  const fault = p.faults.replicas.find((r) => r.index === index)?.behaviour;
  if (!fault) return replica;
  logger.warn({ fault }, `injected fault: this replica is Byzantine (${fault})`);
  if (fault === 'silent') return { start() {}, receive() {}, timer() {} };
  if (!b.byzantine) throw new Error(`${p.protocol} takes no injected replica faults (spec.faults.replicas)`);
  const rng = new SeededRandom(doc.seed * 31 + index);
  return b.byzantine(replica, fault, k, () => Uint8Array.from({ length: 32 }, () => rng.int(256)));
}
