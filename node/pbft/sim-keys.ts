import { hotPathBackend } from '../crypto/signature.js';

/**
 * A simulated PBFT testbed's keys, drawn by `key` in a fixed order (so a seed gives the same
 * testbed): the MAC key of each replica pair, each replica's secp256k1 key, then each client's
 * MAC key per replica.
 */
export function pbftSimKeys(key: () => Uint8Array, n: number, clients: number) {
  const pairs = Array.from({ length: n }, () => Array.from({ length: n }, (): Uint8Array => new Uint8Array(32)));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs[i]![j] = pairs[j]![i] = key();
  const secrets = Array.from({ length: n }, key);
  const publicKeys = secrets.map((s) => hotPathBackend.publicKey(s));
  const clientKeys = Array.from({ length: clients }, () => Array.from({ length: n }, key));
  return { pairs, secrets, publicKeys, clientKeys };
}
