import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { halfSipKey } from '../crypto/halfsiphash.js';
import { hotPathBackend, newSecretKey, secretKeyFromSeed } from '../crypto/signature.js';
import type { AomReceiverAuth } from './aom-receiver.js';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `must be ${bytes} bytes of lower-case hex`);

/**
 * A BFTCluster's key material, generated once per testbed (by the local runner into a 0600
 * file, by the operator into the `X-keys` Secret) and never logged: the epoch secret, from
 * which every epoch's sequencer keys derive (`epochKeys`); each replica's signing key; and the
 * HMAC key each client shares with each replica, and each client's signing key (for signed
 * requests). Public keys are derived, not stored.
 */
export const neoKeys = z.strictObject({
  epochSecret: hex(32),
  replicas: z.array(hex(32)).min(1).max(64),
  /** clients[c][r]: the key client c shares with replica r. */
  clients: z.array(z.array(hex(32))),
  /** clientSigning[c]: client c's secp256k1 key for signed requests. */
  clientSigning: z.array(hex(32)),
  /** pairs[i][j] = pairs[j][i]: the key replicas i and j share (PBFT's MAC authenticators). */
  pairs: z.array(z.array(hex(32))),
});

export type NeoKeys = z.output<typeof neoKeys>;

export function generateNeoKeys(replicas: number, clients: number): NeoKeys {
  const h = (n: number) => randomBytes(n).toString('hex');
  return {
    epochSecret: h(32),
    replicas: Array.from({ length: replicas }, () => Buffer.from(newSecretKey()).toString('hex')),
    clients: Array.from({ length: clients }, () => Array.from({ length: replicas }, () => h(32))),
    clientSigning: Array.from({ length: clients }, () => Buffer.from(newSecretKey()).toString('hex')),
    pairs: symmetric(replicas, () => h(32)),
  };
}

function symmetric(n: number, make: () => string): string[][] {
  const m = Array.from({ length: n }, () => Array.from({ length: n }, () => '00'.repeat(32)));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i]![j] = m[j]![i] = make();
  return m;
}

export function loadNeoKeys(path: string): NeoKeys {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the key file ${path}: ${(err as Error).message}`);
  }
  const r = neoKeys.safeParse(json);
  // Name the field, never echo the value: it is secret.
  if (!r.success) throw new Error(`invalid key file ${path}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

export const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
export const publicKeyOf = (secretHex: string) => hotPathBackend.publicKey(bytes(secretHex));

/** One epoch's AOM keys: the sequencer's signing key (PK) and the HalfSipHash key it shares with each replica (HM). */
export interface EpochKeys {
  sequencer: Uint8Array;
  sequencerPublic: Uint8Array;
  hm: Uint8Array[];
}

const EPOCH_SALT = new TextEncoder().encode('switchyard neobft epoch keys v1');

/**
 * Every failover installs a sequencer with fresh keys; in the NeoBFT paper the configuration
 * service hands them to the new sequencer and the replicas at the epoch change. Here each
 * member derives epoch e's keys on demand, with HKDF-SHA256 (RFC 5869) from the testbed's
 * epoch secret and the epoch number, so epochs never run out (a list made in advance did:
 * an equivocating sequencer replaced every ~0.25 s used up eight epochs in two seconds).
 * Each epoch's keys are independent of every other epoch's for anyone without the secret.
 *
 * The caveat: whoever holds the epoch secret can compute every epoch's keys, past and future —
 * a replaced sequencer holding it could authenticate messages as a later epoch's sequencer.
 * This emulator gives every member the one key file (sequencer keys are shared with every
 * replica anyway, and the injected faulty sequencer uses only the keys of the epochs it
 * orders), so deriving adds no exposure; a deployment facing real attackers would have its
 * configuration service generate each epoch's keys and give them to that epoch's members only.
 */
export function epochKeys(epochSecret: Uint8Array, epoch: number, replicas: number): EpochKeys {
  const okm = (info: string, length: number) => hkdf(sha256, epochSecret, EPOCH_SALT, new TextEncoder().encode(`epoch ${epoch} ${info}`), length);
  const sequencer = secretKeyFromSeed(okm('sequencer', 48));
  return { sequencer, sequencerPublic: hotPathBackend.publicKey(sequencer), hm: Array.from({ length: replicas }, (_, i) => okm(`hm ${i}`, 8)) };
}

/** The largest epoch an AOM header carries (u32). */
export const LAST_EPOCH = 0xffff_ffff;

/** `epochKeys` for one testbed, the latest epochs' kept (an epoch's keys are asked for on every relayed certificate). */
export function epochKeyring(epochSecret: Uint8Array, replicas: number): (epoch: number) => EpochKeys {
  const cache = new LRUCache<number, EpochKeys>({ max: 8 });
  return (epoch) => {
    if (!Number.isInteger(epoch) || epoch < 1 || epoch > LAST_EPOCH) throw new RangeError(`no epoch ${epoch} (epochs run from 1 to ${LAST_EPOCH})`);
    let k = cache.get(epoch);
    if (!k) {
      k = epochKeys(epochSecret, epoch, replicas);
      cache.set(epoch, k);
    }
    return k;
  };
}

/** How replica `index` authenticates each epoch's sequencer (null: an epoch no AOM header can carry). */
export function receiverAuthFor(keyring: (epoch: number) => EpochKeys, scheme: 'hm' | 'pk', index: number): (epoch: number) => AomReceiverAuth | null {
  return (epoch) => {
    if (epoch < 1 || epoch > LAST_EPOCH) return null;
    const k = keyring(epoch);
    return scheme === 'hm' ? { scheme: 'hm', key: halfSipKey(k.hm[index]!) } : { scheme: 'pk', publicKey: k.sequencerPublic, backend: hotPathBackend };
  };
}
