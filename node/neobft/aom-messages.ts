/**
 * Authenticated ordered multicast (AOM, NeoBFT §3.2 and §4; docs/neobft.md#aom). A sender's request goes to
 * the group's sequencer, which stamps it with (epoch, sequence number), binds the payload by
 * its SHA-256 digest, authenticates the header and multicasts it to every receiver.
 *
 * The authenticated bytes of message `seq` are `group u16 ‖ epoch u32 ‖ seq u64 ‖ digest[32]`.
 * - HM: a vector of HalfSipHash-2-4 MACs over those bytes, one per receiver under its own key.
 * - PK: a SHA-256 hash chain, h(seq) = SHA-256(h(seq-1) ‖ authenticated bytes), each message
 *   carrying h(seq-1) (`linked`); the sequencer signs h(seq) with secp256k1 when its signing
 *   budget allows, and an unsigned message is authenticated by a later signed one through the
 *   chain. When it falls idle it signs its last link separately (AomSign).
 */

export interface AomHeader {
  group: number;
  epoch: number;
  seq: number;
  digest: Uint8Array;
}

export type AomAuth =
  | { scheme: 'hm'; macs: Uint32Array }
  | { scheme: 'pk'; linked: Uint8Array; signature: Uint8Array | null };

export interface AomRequest {
  type: 'aom-request';
  group: number;
  payload: Uint8Array;
}

export interface OrderedMulticast {
  type: 'aom';
  header: AomHeader;
  auth: AomAuth;
  payload: Uint8Array;
}

/** The sequencer's signature over its latest chain link, sent when no signed message follows. */
export interface AomSign {
  type: 'aom-sign';
  group: number;
  epoch: number;
  seq: number;
  chain: Uint8Array;
  signature: Uint8Array;
}

export type AomMsg = AomRequest | OrderedMulticast | AomSign;

export const AUTH_BYTES = 2 + 4 + 8 + 32;

/** The bytes a MAC vector or the hash chain authenticates. */
export function authBytes(h: AomHeader, out = new Uint8Array(AUTH_BYTES)): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset, AUTH_BYTES);
  dv.setUint16(0, h.group);
  dv.setUint32(2, h.epoch);
  dv.setUint32(6, Math.floor(h.seq / 0x1_0000_0000));
  dv.setUint32(10, h.seq >>> 0);
  out.set(h.digest, 14);
  return out;
}
