import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { halfSipHash32, halfSipHash32Words, halfSipHash64, halfSipKey, toWords } from '../node/crypto/halfsiphash.js';

const vectors = JSON.parse(readFileSync('test/fixtures/halfsiphash-vectors.json', 'utf8')) as { halfsiphash_2_4_32: string[]; halfsiphash_2_4_64: string[] };
const key = halfSipKey(Uint8Array.from({ length: 8 }, (_, i) => i));
const message = (len: number) => Uint8Array.from({ length: len }, (_, i) => i);
const le32 = (x: number) => Buffer.from(Uint32Array.of(x).buffer).toString('hex');

test('HalfSipHash-2-4 matches all 64 published 32-bit vectors of the reference implementation', () => {
  assert.equal(vectors.halfsiphash_2_4_32.length, 64);
  vectors.halfsiphash_2_4_32.forEach((want, len) => assert.equal(le32(halfSipHash32(key.k0, key.k1, message(len))), want, `length ${len}`));
});

test('HalfSipHash-2-4 matches all 64 published 64-bit vectors of the reference implementation', () => {
  assert.equal(vectors.halfsiphash_2_4_64.length, 64);
  vectors.halfsiphash_2_4_64.forEach((want, len) => assert.equal(Buffer.from(halfSipHash64(key.k0, key.k1, message(len))).toString('hex'), want, `length ${len}`));
});

test('the word form ignores stale bytes past the message in its last word', () => {
  for (const len of [0, 1, 5, 30, 33]) {
    const words = toWords(message(len), new Uint32Array(16).fill(0xffffffff));
    assert.equal(halfSipHash32Words(key.k0, key.k1, words, len), halfSipHash32(key.k0, key.k1, message(len)), `length ${len}`);
  }
  assert.throws(() => halfSipKey(new Uint8Array(7)), /8 bytes/);
});
