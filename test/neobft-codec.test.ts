import assert from 'node:assert/strict';
import { test } from 'node:test';
import { neoCodec } from '../node/neobft/codec.js';
import { neoSamples as samples } from './support/wire-samples.js';


test('every NeoBFT protocol message survives an encode/decode round trip', () => {
  for (const m of samples) assert.deepEqual(neoCodec.decode(neoCodec.encode(m)), m, m.type);
  assert.throws(() => neoCodec.decode(neoCodec.encode(samples[6]!).subarray(0, 40)), /packet ends inside/);
});
