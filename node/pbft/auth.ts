import { hmacSha256, sha256 } from '../crypto/hash.js';
import { equalBytes } from '../crypto/bytes.js';
import type { SignatureBackend } from '../crypto/signature.js';
import { pbftCodec } from './codec.js';
import { AUTH_ENTRY, type PbftReply, type PbftSigned, type PhaseVote, type PrePrepare } from './messages.js';

type Authenticated = PrePrepare | PhaseVote;

/** The encoding a MAC covers: the message with an empty authenticator. */
const body = (m: Authenticated) => pbftCodec.encode({ ...m, auth: new Uint8Array() });

/** One truncated HMAC per replica, under the key the sender shares with each (its own entry is zero). */
export function authenticate<M extends Authenticated>(m: M, sender: number, pairKeys: Uint8Array[]): M {
  const b = body(m);
  const auth = new Uint8Array(pairKeys.length * AUTH_ENTRY);
  pairKeys.forEach((k, j) => {
    if (j !== sender) auth.set(hmacSha256(k, b).subarray(0, AUTH_ENTRY), j * AUTH_ENTRY);
  });
  return { ...m, auth };
}

/** Replica `me` checks its own entry with the key it shares with the sender. */
export function verifyAuthenticator(m: Authenticated, me: number, keyWithSender: Uint8Array): boolean {
  const entry = m.auth.subarray(me * AUTH_ENTRY, (me + 1) * AUTH_ENTRY);
  return entry.length === AUTH_ENTRY && equalBytes(hmacSha256(keyWithSender, body(m)).subarray(0, AUTH_ENTRY), entry);
}

export function pbftReplyMac(r: PbftReply, key: Uint8Array): Uint8Array {
  const bytes = pbftCodec.encode({ ...r, mac: new Uint8Array(32) });
  return hmacSha256(key, bytes.subarray(0, bytes.length - 32));
}

/** A replica's signing key and every replica's public key (for the signed view-change messages). */
export interface PbftSigningKeys {
  secret: Uint8Array;
  publicKeys: Uint8Array[];
  backend: SignatureBackend;
}

const SIG = 64;

/** SHA-256 of the encoding without its trailing signature: what a signature covers. */
function signedDigest(m: PbftSigned): Uint8Array {
  const bytes = pbftCodec.encode({ ...m, sig: new Uint8Array(SIG) });
  return sha256(bytes.subarray(0, bytes.length - SIG));
}

export function signPbft<M extends PbftSigned>(m: M, keys: PbftSigningKeys): M {
  return { ...m, sig: keys.backend.sign(signedDigest(m), keys.secret) };
}

export function verifyPbft(m: PbftSigned, keys: Pick<PbftSigningKeys, 'publicKeys' | 'backend'>): boolean {
  const pub = keys.publicKeys[m.replica];
  return pub !== undefined && m.sig.length === SIG && keys.backend.verify(m.sig, signedDigest(m), pub);
}

/** How a NEW-VIEW names a VIEW-CHANGE. */
export const viewChangeDigest = (m: PbftSigned) => sha256(pbftCodec.encode(m));

/** The digest PREPAREs and COMMITs vote on: SHA-256 over the length-prefixed requests of a batch. */
export const batchDigest = (batch: Uint8Array[]) => sha256(Buffer.concat(batch.flatMap((b) => [Buffer.from(Uint32Array.of(b.length).buffer), b])));
