import type { NodeDocument } from '../config.js';
import { memberBasics } from './member.js';
import { halfSipKey } from '../crypto/halfsiphash.js';
import { MacVectorKeys } from '../crypto/macvector.js';
import { hotPathBackend } from '../crypto/signature.js';
import { EmulatedClock } from '../runtime/clock.js';
import type { Core } from '../runtime/core.js';
import { runMember } from '../runtime/process.js';
import { startBaselineMember } from './bft-baselines.js';
import { SeededRandom } from '../runtime/random.js';
import { AomSequencer } from '../neobft/aom-sequencer.js';
import { neoClient } from '../neobft/client.js';
import { neoCodec } from '../neobft/codec.js';
import { bytes, epochKeyring, loadNeoKeys, publicKeyOf, receiverAuthFor } from '../neobft/keys.js';
import { recordingHistory } from '../apps/kv-metrics.js';
import type { Logger } from 'pino';
import type { NeoMsg } from '../neobft/messages.js';
import { neobftMetrics } from '../neobft/metrics.js';
import { Replica, type ReplicaObserver } from '../neobft/replica.js';
import { SigningController } from '../neobft/sign-controller.js';
import { neoClientNode, replicaNode, sequencerNode, sequencerOfEpoch } from '../neobft/topology.js';
import { EpochSequencer } from '../neobft/epoch-sequencer.js';
import { SEQUENCER_LIE_EVERY, byzantine, garbageClient, lyingSequencer } from '../neobft/faults.js';
import { openSignedRequest, signRequest } from '../neobft/requests.js';

/** How many signatures per second this process can make, measured for 200 ms (the PK budget's basis). */
function measureSigning(secret: Uint8Array): number {
  const digest = new Uint8Array(32).fill(7);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 200) {
    hotPathBackend.sign(digest, secret);
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Starts the BFTCluster member named `name` from the testbed's node document and key file. */
export async function startNeoMember(doc: NodeDocument & { system: 'neobft' }, name: string): Promise<void> {
  const p = doc.neobft;
  if (!doc.keys) throw new Error('a BFTCluster member needs its key file: set "keys" in the node configuration');
  const keys = loadNeoKeys(doc.keys);
  if (keys.replicas.length !== p.replicas || keys.pairs.length !== p.replicas || keys.clients.length < p.clients || keys.clientSigning.length < p.clients) {
    throw new Error(`the key file ${doc.keys} is for another testbed shape (${keys.replicas.length} replicas, ${keys.clients.length} clients)`);
  }
  const { me, registry, runtime, logger } = memberBasics(doc, name);
  const { id, role } = me;
  const metrics = neobftMetrics(registry);
  const replicaIds = Array.from({ length: p.replicas }, (_, i) => replicaNode(i));
  if (p.protocol !== 'neobft') return startBaselineMember(doc, runtime, me, keys, registry, logger, metrics);
  let core: Core<NeoMsg>;
  let routes: Record<string, () => unknown> | undefined;
  const publicKeys = keys.replicas.map(publicKeyOf);
  const clientPublic = p.signedRequests ? keys.clientSigning.map(publicKeyOf) : [];
  const sequencerOf = (epoch: number) => sequencerOfEpoch(epoch, p.sequencers);
  const keyring = epochKeyring(bytes(keys.epochSecret), p.replicas);
  if (role === 'sequencer') {
    const observer = metrics.sequencer();
    let budget = 0;
    const ordering = (epoch: number) => {
      const k = keyring(epoch);
      const secret = k.sequencer;
      if (p.scheme === 'pk' && budget === 0) {
        budget = p.signBudgetPerSecond > 0 ? p.signBudgetPerSecond : Math.max(1, Math.floor(measureSigning(secret) / 2));
        logger.info({ budget }, `signing budget ${budget} signatures/s`);
      }
      logger.info({ epoch }, `ordering epoch ${epoch}`);
      const hmKeys = () => new MacVectorKeys(k.hm.map(halfSipKey));
      const lying = id === sequencerNode(0) ? p.faults.sequencer : 'none';
      if (lying !== 'none') logger.warn({ epoch, fault: lying }, `injected fault: this sequencer will ${lying} every ${SEQUENCER_LIE_EVERY}th number`);
      return lyingSequencer(new AomSequencer({
        group: 0, epoch, receivers: replicaIds,
        auth: p.scheme === 'hm'
          ? { scheme: 'hm', keys: hmKeys() }
          : { scheme: 'pk', secret, backend: hotPathBackend, controller: new SigningController(budget, p.maxUnsigned), idleSignUs: p.idleSignMicros },
      }, observer), lying, SEQUENCER_LIE_EVERY, hmKeys(), p.signedRequests);
    };
    core = new EpochSequencer({
      index: id - sequencerNode(0), count: p.sequencers, f: p.f, replicaKeys: { publicKeys, backend: hotPathBackend }, make: ordering,
    }, observer);
  } else if (role === 'replica') {
    const index = id - replicaNode(0);
    const authFor = receiverAuthFor(keyring, p.scheme, index);
    const replicaKeys = { secret: bytes(keys.replicas[index]!), publicKeys, backend: hotPathBackend };
    const clientKey = (c: number) => bytes(keys.clients[c]?.[index] ?? '00'.repeat(32));
    const replica = new Replica({
      index, f: p.f, replicas: replicaIds, group: 0, authFor, sequencerNode: sequencerOf, keys: replicaKeys, clientKey, clientNode: neoClientNode, clients: p.clients,
      gapTimeoutUs: p.gapMicros, retryUs: p.retryMicros, viewChangeUs: p.viewChangeMicros, byzantineNetwork: p.byzantineNetwork,
      openRequest: p.signedRequests ? (payload) => openSignedRequest(payload, (c) => clientPublic[c], hotPathBackend) : undefined,
    }, loggedReplica(metrics.replica(p.replicas), logger));
    const fault = p.faults.replicas.find((r) => r.index === index)?.behaviour;
    if (fault) logger.warn({ fault }, `injected fault: this replica is Byzantine (${fault})`);
    const rng = new SeededRandom(doc.seed * 31 + index);
    core = !fault ? replica
      : fault === 'silent' ? { start() {}, receive() {}, timer() {} }
      : byzantine(replica, fault, replicaKeys, clientKey, () => Uint8Array.from({ length: 32 }, () => rng.int(256)));
  } else if (role === 'intruder') {
    logger.warn('injected fault: a Byzantine client sending malformed requests to the sequencer');
    core = garbageClient<NeoMsg>(sequencerOf(1), (payload) => ({ type: 'aom-request', group: 0, payload }), new SeededRandom(doc.seed ^ 0x1badd));
  } else {
    const c = id - neoClientNode(0);
    const recorded = recordingHistory(metrics.client('neobft'));
    const client = neoClient({
      client: c, f: p.f, replicas: replicaIds, sequencerOf, group: 0, keys: keys.clients[c]!.map(bytes),
      keySpace: p.keySpace, requests: Infinity, retryUs: p.clientRetryMicros,
      sign: p.signedRequests ? (r) => signRequest(r, bytes(keys.clientSigning[c]!), hotPathBackend) : undefined,
    }, new SeededRandom(doc.seed * 7919 + c), recorded.observer);
    core = client;
    routes = { '/history.json': () => ({ completed: recorded.history, pending: client.pending }) };
  }
  await runMember(runtime, me, registry, logger, { core, codec: neoCodec, clock: new EmulatedClock(), routes });
}

/** A replica's view changes, view starts and state transfers in its log beside the metrics: what a stalled testbed's logs must show. */
function loggedReplica(metrics: ReplicaObserver, logger: Logger): ReplicaObserver {
  return {
    ...metrics,
    viewChanged: (view, reason) => {
      metrics.viewChanged(view, reason);
      logger.warn({ epoch: view.epoch, leader: view.leader, reason }, `view change to ${view.epoch}/${view.leader} (${reason})`);
    },
    viewStarted: (view) => {
      metrics.viewStarted(view);
      logger.info({ epoch: view.epoch, leader: view.leader }, `in view ${view.epoch}/${view.leader}`);
    },
    stateTransferred: (slot) => {
      metrics.stateTransferred(slot);
      logger.info({ slot }, `took the others' state at slot ${slot}`);
    },
  };
}
