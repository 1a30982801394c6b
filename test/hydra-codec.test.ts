import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hydraCodec } from '../node/hydra/codec.js';
import type { HydraMsg } from '../node/hydra/messages.js';
import { WireError } from '../node/runtime/core.js';
import { Driver } from '../node/runtime/driver.js';
import { hydraSamples as samples } from './support/wire-samples.js';

test('every Hydra message survives an encode/decode round trip', () => {
  for (const m of samples) assert.deepEqual(hydraCodec.decode(hydraCodec.encode(m)), m, m.type);
});

test('malformed datagrams are rejected with a specific reason', () => {
  const groupcast = hydraCodec.encode(samples[1]!);
  const emptyBitmap = hydraCodec.encode(samples[0]!);
  emptyBitmap.set([0, 0, 0, 0], 8);
  const cases: [string, Uint8Array][] = [
    ['truncated', groupcast.subarray(0, groupcast.length - 1)],
    ['truncated', new Uint8Array()],
    ['bad-magic', new Uint8Array([0x47, 2])],
    ['unknown-type', new Uint8Array([0x48, 99])],
    ['trailing-bytes', new Uint8Array([...hydraCodec.encode(samples[4]!), 0])],
    ['bad-field', emptyBitmap],
    ['bad-field', new Uint8Array([0x48, 7, 0, 0, 0, 1, 5, 0, 1])],
    ['out-of-range', (() => {
      const b = hydraCodec.encode(samples[2]!);
      b[9] = 0xff; // the clock's top byte
      return b;
    })()],
  ];
  const sample = (type: HydraMsg['type'], nth = 0) => hydraCodec.encode(samples.filter((m) => m.type === type)[nth]!);
  const prepare = sample('vr-prepare');
  const withByte = (b: Uint8Array, at: number, v: number) => {
    const c = b.slice();
    c[at] = v;
    return c;
  };
  cases.push(
    ['unknown-type', new Uint8Array([0x48, 14, 99])],
    // byte 11 is the command kind of a PREPARE, byte 12 the change kind of its `begin`
    ['unknown-type', withByte(prepare, 11, 77)],
    ['bad-field', withByte(prepare, 12, 2)],
    ['bad-field', withByte(sample('vr-prepare-ok'), 11, 255)],
    ['bad-field', withByte(sample('vr-recovery-response', 1), 16, 4)],
  );
  for (const [reason, bytes] of cases) {
    assert.throws(() => hydraCodec.decode(bytes), (e) => e instanceof WireError && e.reason === reason, reason);
  }
});

test('the driver counts a malformed datagram and never hands it to the core', () => {
  let handler: (b: Uint8Array) => void = () => {};
  const received: HydraMsg[] = [];
  const rejections: string[] = [];
  const driver = new Driver<HydraMsg>(
    { start() {}, timer() {}, receive: (_c, m) => received.push(m) },
    hydraCodec,
    { send() {}, onReceive: (h) => (handler = h), close() {} },
    { now: () => 0 },
    { schedule: () => 0, cancel() {} },
    { received() {}, sent() {}, rejected: (reason) => rejections.push(reason) },
  );
  driver.start();
  handler(new Uint8Array([1, 2, 3]));
  handler(hydraCodec.encode(samples[4]!));
  assert.deepEqual(rejections, ['bad-magic']);
  assert.equal(received.length, 1);
});
