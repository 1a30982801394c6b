import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { allBackends, hotPathBackend, nativeBackend, newSecretKey } from '../node/crypto/signature.js';

test('the native libsecp256k1 binding loads here and is the hot-path backend', () => {
  assert.ok(nativeBackend, 'prebuilt binary for this platform');
  assert.equal(hotPathBackend.name, 'libsecp256k1-native');
  assert.deepEqual(allBackends.map((b) => b.name).sort(), ['libsecp256k1-native', 'libsecp256k1-wasm', 'noble']);
});

test('signatures made by any backend verify with every backend', () => {
  for (const signer of allBackends) {
    const secret = newSecretKey();
    const digest = randomBytes(32);
    const publicKey = signer.publicKey(secret);
    const signature = signer.sign(digest, secret);
    assert.equal(signature.length, 64);
    for (const verifier of allBackends) {
      assert.deepEqual(Buffer.from(verifier.publicKey(secret)), Buffer.from(publicKey), `${verifier.name} derives the same public key`);
      assert.ok(verifier.verify(signature, digest, publicKey), `${signer.name} → ${verifier.name}`);
    }
  }
});

test('every backend rejects a wrong digest, a corrupted signature, another key and garbage', () => {
  const secret = newSecretKey();
  const digest = randomBytes(32);
  for (const b of allBackends) {
    const signature = b.sign(digest, secret);
    const publicKey = b.publicKey(secret);
    const other = b.publicKey(newSecretKey());
    const flipped = Uint8Array.from(signature);
    flipped[10]! ^= 1;
    assert.ok(!b.verify(signature, randomBytes(32), publicKey), `${b.name}: wrong digest`);
    assert.ok(!b.verify(flipped, digest, publicKey), `${b.name}: corrupted signature`);
    assert.ok(!b.verify(signature, digest, other), `${b.name}: another key`);
    assert.ok(!b.verify(new Uint8Array(64), digest, publicKey), `${b.name}: zero signature`);
    assert.ok(!b.verify(signature, digest, new Uint8Array(33)), `${b.name}: invalid public key`);
  }
});
