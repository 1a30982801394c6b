import { hotPathBackend } from '../../node/crypto/signature.js';
import { SimNetwork } from '../../node/net/sim.js';
import { SeededRandom } from '../../node/runtime/random.js';

/**
 * A simulated BFT testbed's network (50 µs ± 30 µs links; `loss` is also the duplication and
 * reordering rate) and keys, drawn from `seed` in a fixed order: each replica's secp256k1 key,
 * then each client's MAC key per replica. Replicas are nodes 10, 11, …; clients 100, 101, ….
 */
export function simBftTestbed(seed: number, n: number, clients: number, loss: number) {
  const net = new SimNetwork(seed, { delayUs: 50, jitterUs: 30, loss, duplicate: loss, reorder: loss, reorderWindowUs: 300 });
  const rng = new SeededRandom(seed);
  const key = () => Uint8Array.from({ length: 32 }, () => rng.int(256));
  const secrets = Array.from({ length: n }, key);
  const publicKeys = secrets.map((s) => hotPathBackend.publicKey(s));
  const clientKeys = Array.from({ length: clients }, () => Array.from({ length: n }, key));
  const replicaIds = Array.from({ length: n }, (_, i) => 10 + i);
  return { net, rng, key, secrets, publicKeys, clientKeys, replicaIds };
}
