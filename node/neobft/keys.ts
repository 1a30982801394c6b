import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { hotPathBackend, newSecretKey } from '../crypto/signature.js';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `must be ${bytes} bytes of lower-case hex`);

/** Epochs a testbed has keys for: the first sequencer and up to seven failovers. */
export const MAX_EPOCHS = 8;

/**
 * A BFTCluster's key material, generated once per testbed (by the local runner into a 0600
 * file, by the operator into the `X-keys` Secret) and never logged: per epoch, the sequencer's
 * signing key and each replica's HalfSipHash key shared with that sequencer (every failover
 * installs a sequencer with fresh keys: the paper's configuration service exchanges them; here
 * they are made in advance, one set per epoch); each replica's signing key; and the HMAC key
 * each client shares with each replica, and each client's signing key (for signed requests).
 * Public keys are derived, not stored.
 */
export const neoKeys = z.strictObject({
  epochs: z.array(z.strictObject({ sequencer: hex(32), hm: z.array(hex(8)).min(1).max(64) })).min(1).max(64),
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
    epochs: Array.from({ length: MAX_EPOCHS }, () => ({
      sequencer: Buffer.from(newSecretKey()).toString('hex'),
      hm: Array.from({ length: replicas }, () => h(8)),
    })),
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
