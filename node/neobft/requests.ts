import { type KvRequest, decodeKvRequest, encodeKvRequest } from '../apps/kv.js';
import { sha256 } from '../crypto/hash.js';
import type { SignatureBackend } from '../crypto/signature.js';
import { WireError } from '../runtime/core.js';

const SIG = 64;

/**
 * Client-signed requests (`spec.signedRequests`, the paper's ⟨REQUEST, op, request-id⟩σc): the
 * key-value request followed by the client's secp256k1 signature over its SHA-256. Every correct
 * replica reaches the same verdict on the same bytes, so a request the sequencer (or anyone)
 * forged in a client's name takes its slot as a no-op everywhere alike. Without signatures a
 * request is trusted to come from the client it names.
 */
export function signRequest(request: Uint8Array, secret: Uint8Array, backend: SignatureBackend): Uint8Array {
  const out = new Uint8Array(request.length + SIG);
  out.set(request);
  out.set(backend.sign(sha256(request), secret), request.length);
  return out;
}

/** Opens a signed request; a WireError says why it is refused (`bad-client-signature`, or the request's own decoding error). */
export function openSignedRequest(payload: Uint8Array, clientPublicKey: (client: number) => Uint8Array | undefined, backend: SignatureBackend): KvRequest {
  if (payload.length <= SIG) throw new WireError('truncated', `a signed request of ${payload.length} bytes has no room for its signature`);
  const body = payload.subarray(0, payload.length - SIG);
  const request = decodeKvRequest(body);
  const pub = clientPublicKey(request.client);
  if (!pub || !backend.verify(payload.subarray(payload.length - SIG), sha256(body), pub)) {
    throw new WireError('bad-client-signature', `request ${request.requestId} is not signed by client ${request.client}`);
  }
  return request;
}

/**
 * The request bytes a forger would put in a slot: a write in client 0's name, its request id
 * raised past any the client will issue (they follow its clock in µs, below 2^52), with a
 * made-up signature when requests are signed.
 */
export function forgedRequest(seq: number, signed: boolean): Uint8Array {
  const body = encodeKvRequest({ client: 0, requestId: 2 ** 52 + seq, op: { op: 'put', key: 'k0', value: 'forged' } });
  if (!signed) return body;
  const out = new Uint8Array(body.length + SIG).fill(0x5a);
  out.set(body);
  return out;
}
