import assert from 'node:assert/strict';
import { test } from 'node:test';
import { neoCodec } from '../node/neobft/codec.js';
import { SigningController } from '../node/neobft/sign-controller.js';
import { WireError } from '../node/runtime/core.js';
import { aomSamples as samples } from './support/wire-samples.js';


test('every AOM message survives an encode/decode round trip; malformed ones are refused by reason', () => {
  for (const m of samples) assert.deepEqual(neoCodec.decode(neoCodec.encode(m)), m, m.type);
  const hm = neoCodec.encode(samples[1]!);
  const badScheme = hm.slice();
  badScheme[2 + 2 + 4 + 8 + 32] = 9;
  for (const [reason, bytes] of [['truncated', hm.subarray(0, 20)], ['bad-field', badScheme], ['bad-magic', new Uint8Array([0x48, 1])], ['unknown-type', new Uint8Array([0x4e, 77])]] as const) {
    assert.throws(() => neoCodec.decode(bytes), (e) => e instanceof WireError && e.reason === reason, reason);
  }
});

test('the signing controller signs within its budget and never leaves more than maxUnsigned in a row', () => {
  const c = new SigningController(1000, 5, 1);
  // 10,000 messages per second for one second against a budget of 1,000 signatures per second.
  let run = 0;
  let longest = 0;
  for (let t = 0; t < 1_000_000; t += 100) {
    if (c.shouldSign(t)) run = 0;
    else longest = Math.max(longest, ++run);
  }
  assert.ok(longest <= 5);
  assert.ok(c.ratio > 0.16 && c.ratio < 0.2, `signed ${c.ratio}`); // the budget's 10 % plus the forced ones
  const idle = new SigningController(1000, 5);
  assert.ok(idle.shouldSign(0) && idle.shouldSign(5000), 'an idle sequencer signs everything');
});
