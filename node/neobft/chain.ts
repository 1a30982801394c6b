import { sha256 } from '../crypto/hash.js';
import { AUTH_BYTES, type AomHeader, authBytes } from './aom-messages.js';

/** h(seq) = SHA-256(h(seq-1) ‖ authenticated bytes of seq); the chain starts from 32 zero bytes in every epoch. */
export function chainLink(previous: Uint8Array, header: AomHeader): Uint8Array {
  const buf = new Uint8Array(32 + AUTH_BYTES);
  buf.set(previous, 0);
  authBytes(header, buf.subarray(32));
  return sha256(buf);
}

export const CHAIN_START = new Uint8Array(32);
