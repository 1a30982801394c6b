import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { halfSipKey } from '../node/crypto/halfsiphash.js';
import { MacVectorKeys, verifyMacEntry } from '../node/crypto/macvector.js';

const keys = Array.from({ length: 16 }, () => halfSipKey(randomBytes(8)));
const vectorKeys = new MacVectorKeys(keys);

test('every receiver verifies its own entry of a MAC vector, and only with its own key', () => {
  const message = randomBytes(36);
  const vector = vectorKeys.sign(message);
  assert.equal(vector.length, 16);
  keys.forEach((k, r) => assert.ok(verifyMacEntry(k, r, message, vector), `receiver ${r}`));
  assert.ok(!verifyMacEntry(keys[0]!, 1, message, vector), 'another receiver\'s entry');
  assert.ok(!verifyMacEntry(keys[0]!, 16, message, vector), 'an index past the vector');
});

test('a forwarded vector is still verifiable by another receiver; a changed message or entry is not', () => {
  const message = randomBytes(36);
  const vector = vectorKeys.sign(message);
  const forwarded = Uint32Array.from(vector);
  assert.ok(verifyMacEntry(keys[7]!, 7, message, forwarded));
  const corrupted = Buffer.from(message);
  corrupted[5]! ^= 1;
  assert.ok(!verifyMacEntry(keys[7]!, 7, corrupted, forwarded));
  forwarded[7]! ^= 1;
  assert.ok(!verifyMacEntry(keys[7]!, 7, message, forwarded));
});
