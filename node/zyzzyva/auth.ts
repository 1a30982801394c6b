import { equalBytes } from '../crypto/bytes.js';
import { hmacSha256, sha256 } from '../crypto/hash.js';
import type { SignatureBackend } from '../crypto/signature.js';
import { ZYZZYVA_TYPE, bodyBytes, orderHeaderPart, partBytes, signedResponsePart } from './codec.js';
import type { Checkpoint, IHateThePrimary, LocalCommit, NewView, OrderHeader, SignedResponse, ViewChange, ViewConfirm } from './messages.js';

/** A replica's signing key and every replica's public key. */
export interface ZyzzyvaKeys {
  secret: Uint8Array;
  publicKeys: Uint8Array[];
  backend: SignatureBackend;
}
export type VerifyKeys = Pick<ZyzzyvaKeys, 'publicKeys' | 'backend'>;

const NO_SIG = new Uint8Array();
const tagged = (tag: number, body: Uint8Array) => {
  const b = new Uint8Array(1 + body.length);
  b[0] = tag;
  b.set(body, 1);
  return sha256(b);
};

/** What an ORDER-REQ's signature covers: ⟨v, n, h_n, d⟩ (tag 0x80, apart from every message type). */
const orderDigest = (h: OrderHeader) => tagged(0x80, partBytes(orderHeaderPart, { view: h.view, seq: h.seq, history: h.history, digest: h.digest, sig: NO_SIG }));
const responseDigest = (r: SignedResponse) => tagged(0x81, partBytes(signedResponsePart, { ...r, sig: NO_SIG }));

export function signOrder<H extends OrderHeader>(h: H, keys: ZyzzyvaKeys): H {
  return { ...h, sig: keys.backend.sign(orderDigest(h), keys.secret) };
}

/** Whether `h` carries the signature of `primary` (the primary of its view). */
export function verifyOrder(h: OrderHeader, primary: number, keys: VerifyKeys): boolean {
  const pub = keys.publicKeys[primary];
  return pub !== undefined && h.sig.length === 64 && keys.backend.verify(h.sig, orderDigest(h), pub);
}

export function signResponse(r: SignedResponse, keys: ZyzzyvaKeys): SignedResponse {
  return { ...r, sig: keys.backend.sign(responseDigest(r), keys.secret) };
}

export function verifyResponse(r: SignedResponse, keys: VerifyKeys): boolean {
  const pub = keys.publicKeys[r.replica];
  return pub !== undefined && r.sig.length === 64 && keys.backend.verify(r.sig, responseDigest(r), pub);
}

/** The messages signed whole (the signature covers the body with the signature emptied, tagged by type). */
export type Signed = Checkpoint | IHateThePrimary | ViewChange | NewView | ViewConfirm;
const signedDigest = (m: Signed) => tagged(ZYZZYVA_TYPE[m.type], bodyBytes({ ...m, sig: NO_SIG }));

export function signMsg<M extends Signed>(m: M, keys: ZyzzyvaKeys): M {
  return { ...m, sig: keys.backend.sign(signedDigest(m), keys.secret) };
}

export function verifyMsg(m: Signed, keys: VerifyKeys): boolean {
  const pub = keys.publicKeys[m.replica];
  return pub !== undefined && m.sig.length === 64 && keys.backend.verify(m.sig, signedDigest(m), pub);
}

/** LOCAL-COMMIT's MAC under the key the replica shares with the client. */
export function localCommitMac(m: LocalCommit, key: Uint8Array): Uint8Array {
  return hmacSha256(key, bodyBytes({ ...m, mac: new Uint8Array(32) }));
}

export const verifyLocalCommit = (m: LocalCommit, key: Uint8Array) => equalBytes(localCommitMac(m, key), m.mac);

/** d: SHA-256 over the length-prefixed requests of a batch. */
export function batchDigest(batch: Uint8Array[]): Uint8Array {
  return sha256(Buffer.concat(batch.flatMap((b) => [Buffer.from(Uint32Array.of(b.length).buffer), b])));
}

/** h_n = H(h_{n−1}, d) (§3.2). */
export function extend(history: Uint8Array, digest: Uint8Array): Uint8Array {
  return sha256(Buffer.concat([history, digest]));
}
