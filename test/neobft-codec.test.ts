import assert from 'node:assert/strict';
import { test } from 'node:test';
import { neoCodec } from '../node/neobft/codec.js';
import type { NeoMsg } from '../node/neobft/messages.js';
import type { OrderedMulticast } from '../node/neobft/aom-messages.js';

const b = (n: number, v = 1) => new Uint8Array(n).fill(v);
const view = { epoch: 3, leader: 1 };
const oc: OrderedMulticast = { type: 'aom', header: { group: 0, epoch: 3, seq: 42, digest: b(32, 2) }, auth: { scheme: 'hm', macs: Uint32Array.of(1, 2, 3, 4) }, payload: b(5, 9) };
const drop = { type: 'gap-drop' as const, view, replica: 2, slot: 42, sig: b(64, 4) };
const samples: NeoMsg[] = [
  { type: 'reply', view, replica: 3, slot: 42, logHash: b(32, 5), client: 7, requestId: 99, result: b(3, 6), mac: b(32, 7) },
  { type: 'query', view, replica: 2, slot: 42 },
  { type: 'query-reply', view, slot: 42, oc },
  { type: 'gap-find', view, replica: 1, slot: 42, sig: b(64, 8) },
  { type: 'gap-recv', view, replica: 0, slot: 42, oc },
  drop,
  { type: 'gap-decision', view, replica: 1, slot: 42, recv: null, drops: [drop, { ...drop, replica: 3 }], sig: b(64, 9) },
  { type: 'gap-decision', view, replica: 1, slot: 42, recv: oc, drops: [], sig: b(64, 10) },
  { type: 'gap-prepare', view, replica: 0, slot: 42, digest: b(32, 11), sig: b(64, 12) },
  { type: 'gap-commit', view, replica: 0, slot: 42, digest: b(32, 11), sig: b(64, 13) },
  { type: 'direct-request', payload: b(10, 14) },
  { type: 'confirm', view, replica: 2, slot: 42, digest: b(32, 15), need: true, sig: b(64, 16) },
  { type: 'sync', view, replica: 1, slot: 128, logHash: b(32, 17), stateDigest: b(32, 26), epochStart: 100, resent: true, sig: b(64, 18) },
  {
    type: 'view-change', view: { epoch: 2, leader: 300 }, replica: 3,
    cert: [{ type: 'sync', view, replica: 1, slot: 128, logHash: b(32, 17), stateDigest: b(32, 26), epochStart: 0, resent: false, sig: b(64, 18) }], base: b(32, 19),
    entries: [
      { kind: 'message', slot: 128, oc, confirms: [] },
      { kind: 'message', slot: 129, oc, confirms: [{ type: 'confirm', view, replica: 2, slot: 129, digest: b(32, 15), need: false, sig: b(64, 16) }] },
      { kind: 'no-op', slot: 131, commits: [{ type: 'gap-commit', view, replica: 0, slot: 131, digest: new Uint8Array(32), sig: b(64, 13) }] },
    ],
    tailSign: { type: 'aom-sign', group: 0, epoch: 1, seq: 31, chain: b(32, 20), signature: b(64, 21) }, sig: b(64, 22),
  },
  { type: 'view-start', view: { epoch: 2, leader: 1 }, replica: 1, refs: [{ replica: 0, digest: b(32, 23) }, { replica: 2, digest: b(32, 24) }], sig: b(64, 25) },
  { type: 'view-change-fetch', view: { epoch: 2, leader: 1 }, replica: 3, of: 0 },
  { type: 'state-request', replica: 2, executed: 155 },
  {
    type: 'state-reply', replica: 1, snapshot: b(40, 27),
    cert: [{ type: 'sync', view, replica: 1, slot: 256, logHash: b(32, 17), stateDigest: b(32, 26), epochStart: 0, resent: false, sig: b(64, 18) }],
  },
];

test('every NeoBFT protocol message survives an encode/decode round trip', () => {
  for (const m of samples) assert.deepEqual(neoCodec.decode(neoCodec.encode(m)), m, m.type);
  assert.throws(() => neoCodec.decode(neoCodec.encode(samples[6]!).subarray(0, 40)), /packet ends inside/);
});
