import type { NodeDocument } from '../config.js';
import { halfSipKey } from '../crypto/halfsiphash.js';
import { MacVectorKeys } from '../crypto/macvector.js';
import { hotPathBackend } from '../crypto/signature.js';
import type { KvInput, KvOutput } from '../check/kv-model.js';
import type { Operation } from '../check/linearizability.js';
import { EmulatedClock } from '../runtime/clock.js';
import type { Core } from '../runtime/core.js';
import { newRegistry } from '../runtime/metrics.js';
import { type MemberIdentity, memberLogger, runMember } from '../runtime/process.js';
import { SeededRandom } from '../runtime/random.js';
import type { AomReceiverAuth } from './aom-receiver.js';
import { AomSequencer } from './aom-sequencer.js';
import { neoClient } from './client.js';
import { neoCodec } from './codec.js';
import { bytes, loadNeoKeys, publicKeyOf } from './keys.js';
import type { NeoMsg } from './messages.js';
import { neobftMetrics } from './metrics.js';
import { Replica } from './replica.js';
import { SigningController } from './sign-controller.js';
import { SEQUENCER, neoClientNode, neoMemberId, neoMemberName, replicaNode } from './topology.js';

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
  const id = neoMemberId(name, p.replicas, p.clients);
  if (!doc.keys) throw new Error('a BFTCluster member needs its key file: set "keys" in the node configuration');
  const keys = loadNeoKeys(doc.keys);
  if (keys.hm.length !== p.replicas || keys.replicas.length !== p.replicas || keys.clients.length < p.clients) {
    throw new Error(`the key file ${doc.keys} is for another testbed shape (${keys.replicas.length} replicas, ${keys.clients.length} clients)`);
  }
  const role = name.replace(/-.*$/, '');
  const me: MemberIdentity = { id, name, role };
  const registry = newRegistry({ testbed: doc.name, member: name, role });
  const logger = memberLogger(doc, me);
  const metrics = neobftMetrics(registry);
  const replicaIds = Array.from({ length: p.replicas }, (_, i) => replicaNode(i));
  let core: Core<NeoMsg>;
  let routes: Record<string, () => unknown> | undefined;
  if (id === SEQUENCER) {
    const secret = bytes(keys.sequencer);
    const budget = p.signBudgetPerSecond > 0 ? p.signBudgetPerSecond : Math.max(1, Math.floor(measureSigning(secret) / 2));
    if (p.scheme === 'pk') logger.info({ budget }, `signing budget ${budget} signatures/s`);
    core = new AomSequencer({
      group: 0, epoch: 1, receivers: replicaIds,
      auth: p.scheme === 'hm'
        ? { scheme: 'hm', keys: new MacVectorKeys(keys.hm.map((k) => halfSipKey(bytes(k)))) }
        : { scheme: 'pk', secret, backend: hotPathBackend, controller: new SigningController(budget, p.maxUnsigned), idleSignUs: p.idleSignMicros },
    }, metrics.sequencer());
  } else if (role === 'replica') {
    const index = id - replicaNode(0);
    const aom: AomReceiverAuth = p.scheme === 'hm'
      ? { scheme: 'hm', key: halfSipKey(bytes(keys.hm[index]!)) }
      : { scheme: 'pk', publicKey: publicKeyOf(keys.sequencer), backend: hotPathBackend };
    core = new Replica({
      index, f: p.f, replicas: replicaIds, group: 0, epoch: 1, aom,
      keys: { secret: bytes(keys.replicas[index]!), publicKeys: keys.replicas.map(publicKeyOf), backend: hotPathBackend },
      clientKey: (c) => bytes(keys.clients[c]?.[index] ?? '00'.repeat(32)), clientNode: neoClientNode,
      gapTimeoutUs: p.gapMicros, retryUs: p.retryMicros,
    }, metrics.replica());
  } else {
    const c = id - neoClientNode(0);
    const history: Operation<KvInput, KvOutput>[] = [];
    const observe = metrics.client();
    const client = neoClient({
      client: c, f: p.f, replicas: replicaIds, sequencer: SEQUENCER, group: 0, keys: keys.clients[c]!.map(bytes),
      keySpace: p.keySpace, requests: Infinity, retryUs: p.clientRetryMicros,
    }, new SeededRandom(doc.seed * 7919 + c), {
      ...observe,
      completed: (op, us) => {
        history.push(op);
        observe.completed(op, us);
      },
    });
    core = client;
    routes = { '/history.json': () => ({ completed: history, pending: client.pending }) };
  }
  await runMember(doc, me, registry, logger, { core, codec: neoCodec, clock: new EmulatedClock(), nameOf: neoMemberName, routes });
}
