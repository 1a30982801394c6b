import { hmacSha256, sha256 } from '../crypto/hash.js';
import type { SignatureBackend } from '../crypto/signature.js';
import { halfSipHash32 } from '../crypto/halfsiphash.js';
import { type OrderedMulticast, authBytes } from './aom-messages.js';
import type { AomReceiverAuth } from './aom-receiver.js';
import { equalBytes } from '../crypto/bytes.js';
import { chainLink } from './chain.js';
import { neoCodec, signedBody } from './codec.js';
import type { Reply, SignedMsg } from './protocol-messages.js';

/** A replica's signing identity and everyone's public keys. */
export interface ReplicaKeys {
  secret: Uint8Array;
  publicKeys: Uint8Array[];
  backend: SignatureBackend;
}

export function sign<M extends SignedMsg>(m: M, keys: ReplicaKeys): M {
  return { ...m, sig: keys.backend.sign(sha256(signedBody(m)), keys.secret) };
}

export function verifySigned(m: SignedMsg, keys: Pick<ReplicaKeys, 'publicKeys' | 'backend'>): boolean {
  const pub = keys.publicKeys[m.replica];
  return pub !== undefined && keys.backend.verify(m.sig, sha256(signedBody(m)), pub);
}

/** The MAC of a reply under the key its replica shares with the client. */
export function replyMac(r: Reply, key: Uint8Array): Uint8Array {
  const bytes = neoCodec.encode({ ...r, mac: new Uint8Array(32) });
  return hmacSha256(key, bytes.subarray(0, bytes.length - 32));
}

export const verifyReply = (r: Reply, key: Uint8Array) => equalBytes(replyMac(r, key), r.mac);

/**
 * Whether an ordering certificate relayed by another replica is authentic (AOM's transferable
 * authentication): with HM, our own entry of its MAC vector; with PK, its signature, or — for an
 * unsigned one — the chain link that the next slot's authenticated message carries.
 */
export function verifyRelayedOc(oc: OrderedMulticast, index: number, auth: AomReceiverAuth, nextLinked: Uint8Array | null): boolean {
  if (!equalBytes(sha256(oc.payload), oc.header.digest)) return false;
  if (auth.scheme === 'hm') {
    return oc.auth.scheme === 'hm' && oc.auth.macs.length > index && halfSipHash32(auth.key.k0, auth.key.k1, authBytes(oc.header)) === oc.auth.macs[index];
  }
  if (oc.auth.scheme !== 'pk') return false;
  const link = chainLink(oc.auth.linked, oc.header);
  if (oc.auth.signature) return auth.backend.verify(oc.auth.signature, link, auth.publicKey);
  return nextLinked !== null && equalBytes(link, nextLinked);
}
