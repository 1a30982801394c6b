import { createRequire } from 'node:module';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as noble from '@noble/secp256k1';
import * as wasm from 'tiny-secp256k1';

/**
 * secp256k1 ECDSA over 32-byte digests, behind one interface, with three interchangeable
 * backends: @noble/secp256k1 (portable TypeScript), libsecp256k1 through its native Node
 * binding (`secp256k1`), and libsecp256k1 compiled to WebAssembly (`tiny-secp256k1`). All emit
 * 64-byte compact low-S signatures and 33-byte compressed public keys, so a signature made by
 * one verifies with any other (tested). `switchyard bench crypto` measures them side by side.
 */
export interface SignatureBackend {
  readonly name: 'noble' | 'libsecp256k1-native' | 'libsecp256k1-wasm';
  publicKey(secret: Uint8Array): Uint8Array;
  sign(digest: Uint8Array, secret: Uint8Array): Uint8Array;
  verify(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean;
}

noble.hashes.sha256 = sha256;
noble.hashes.hmacSha256 = (key, message) => hmac(sha256, key, message);

export const nobleBackend: SignatureBackend = {
  name: 'noble',
  publicKey: (secret) => noble.getPublicKey(secret, true),
  sign: (digest, secret) => noble.sign(digest, secret, { prehash: false, lowS: true }),
  verify: (signature, digest, publicKey) => {
    try {
      return noble.verify(signature, digest, publicKey, { prehash: false, lowS: true });
    } catch {
      return false;
    }
  },
};

export const wasmBackend: SignatureBackend = {
  name: 'libsecp256k1-wasm',
  publicKey: (secret) => wasm.pointFromScalar(secret, true)!,
  sign: (digest, secret) => wasm.sign(digest, secret),
  verify: (signature, digest, publicKey) => {
    try {
      return wasm.verify(digest, publicKey, signature, true);
    } catch {
      return false;
    }
  },
};

interface NativeSecp {
  publicKeyCreate(secret: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaSign(digest: Uint8Array, secret: Uint8Array): { signature: Uint8Array };
  ecdsaVerify(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean;
}

/** The native binding, or null where no prebuilt binary loads (the package would fall back to JS). */
function loadNative(): NativeSecp | null {
  const require = createRequire(import.meta.url);
  try {
    // `secp256k1/bindings` is the API over the native addon only (the package root would fall back to JS).
    return require('secp256k1/bindings') as NativeSecp;
  } catch {
    return null;
  }
}

const native = loadNative();

export const nativeBackend: SignatureBackend | null = native && {
  name: 'libsecp256k1-native',
  publicKey: (secret) => native.publicKeyCreate(secret, true),
  sign: (digest, secret) => native.ecdsaSign(digest, secret).signature,
  verify: (signature, digest, publicKey) => {
    try {
      return native.ecdsaVerify(signature, digest, publicKey);
    } catch {
      return false;
    }
  },
};

export const allBackends: SignatureBackend[] = [nobleBackend, wasmBackend, ...(nativeBackend ? [nativeBackend] : [])];

/**
 * The backend the hot paths (sequencer signing, receiver verification) use: libsecp256k1
 * natively where its binary loads, else its WebAssembly build — in `switchyard bench crypto`
 * both verify dozens of times faster than the portable one.
 */
export const hotPathBackend: SignatureBackend = nativeBackend ?? wasmBackend;

export function newSecretKey(): Uint8Array {
  return noble.utils.randomSecretKey();
}

/** A valid secret key determined by `seed` (≥ 48 uniform bytes, reduced modulo the group order: FIPS 186-5 A.2.1). */
export function secretKeyFromSeed(seed: Uint8Array): Uint8Array {
  return noble.utils.randomSecretKey(seed);
}
