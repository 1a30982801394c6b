import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capybaraCodec } from '../node/capybara/codec.js';
import { decodeConnState, encodeConnState } from '../node/capybara/conn-state.js';
import { type CapybaraMsg, MAX_OWNED_PER_MESSAGE, OWN_MAGIC } from '../node/capybara/messages.js';
import { WireError } from '../node/runtime/core.js';
import { Writer } from '../node/runtime/wire.js';

test('RPS (with the switch incarnation), WHO_HAS and OWN round-trip', () => {
  const msgs: CapybaraMsg[] = [
    { kind: 'rps', sum: 10, individual: 4, incarnation: 0xdead_beef },
    { kind: 'whoHas', clientIp: 0x0a00_03e8, clientPort: 49_152 },
    { kind: 'own', serverIp: 0x0a00_0064, clients: [0x0a00_03e8 * 0x1_0000 + 49_152, 0x0a00_03e9 * 0x1_0000 + 65_535] },
    { kind: 'own', serverIp: 0x0a00_0064, clients: [] },
  ];
  for (const m of msgs) assert.deepEqual(capybaraCodec.decode(capybaraCodec.encode(m)), m);
});

test('a truncated or oversized OWN is a counted wire error, not a crash', () => {
  const own = capybaraCodec.encode({ kind: 'own', serverIp: 1, clients: [5 * 0x1_0000 + 6] });
  assert.throws(() => capybaraCodec.decode(own.subarray(0, own.length - 1)), (e) => e instanceof WireError && e.reason === 'truncated');
  const huge = new Writer(10).u32(OWN_MAGIC).u32(1).u16(MAX_OWNED_PER_MESSAGE + 1).done();
  assert.throws(() => capybaraCodec.decode(huge), (e) => e instanceof WireError && e.reason === 'out-of-range');
  const oldRps = capybaraCodec.encode({ kind: 'rps', sum: 1, individual: 1, incarnation: 1 }).subarray(0, 12);
  assert.throws(() => capybaraCodec.decode(oldRps), (e) => e instanceof WireError && e.reason === 'truncated');
});

test('a CONN_STATE body round-trips with its unserved requests; a count it cannot hold is a truncation', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const body = { tcp: bytes('tcp'), app: bytes('session'), closing: true, waiting: [{ requests: 2, reply: bytes(':1\r\n:2\r\n') }, { requests: 1, reply: bytes('') }] };
  assert.deepEqual(decodeConnState(encodeConnState(body)), body);
  const lying = new Writer(13).u32(0).u32(0).u8(0).u32(0xffff_ffff).done();
  assert.throws(() => decodeConnState(lying), (e) => e instanceof WireError && e.reason === 'truncated');
});
