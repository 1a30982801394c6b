import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireError } from '../node/runtime/core.js';
import { MAX_DATAGRAM, Reassembly, chunksOf, hydraPaxosCodec } from '../node/hydrapaxos/codec.js';
import type { LogState, PaxosMsg } from '../node/hydrapaxos/messages.js';

const slot = { sequencer: 2, epoch: 3, seq: 123_456_789 };
const entry = (i: number) => ({
  slot: { sequencer: i % 4, epoch: 1, seq: i + 1 }, clock: 1_000 + i, groups: i % 2 ? 0b101 : 0b1, stamps: i % 2 ? [i + 1, 2 ** 40 + i] : [i + 1],
  request: new Uint8Array([i & 0xff, 7, 9]),
});
const stamp = { ...slot, group: 5 };
const log = (n: number): LogState => ({
  sync: { key: { clock: -1, sequencer: -1 }, streams: [] },
  entries: Array.from({ length: n }, (_, i) => entry(i)),
  noops: [slot],
  end: { key: { clock: 5_000, sequencer: 1 }, streams: [{ sequencer: 1, epoch: 1, next: 42 }] },
  holds: n > 1 ? [{ ...stamp, state: 'held' }, { ...stamp, seq: 3, state: 'dropped' }] : [],
});

const samples: PaxosMsg[] = [
  { type: 'px-reply', view: 4, group: 0, replica: 1, client: 7, requestId: 99, slot, result: new Uint8Array([1, 2]) },
  { type: 'px-reply', view: 4, group: 3, replica: 2, client: 7, requestId: 99, slot, result: null },
  { type: 'px-gap-request', view: 1, replica: 0, slot },
  { type: 'px-gap-reply', view: 1, replica: 2, slot, status: 'found', entry: entry(5) },
  { type: 'px-gap-reply', view: 1, replica: 2, slot, status: 'truncated', entry: null },
  { type: 'px-gap-commit', view: 9, slot },
  { type: 'px-gap-commit-ok', view: 9, replica: 1, slot },
  { type: 'px-sync', view: 2, point: log(0).end, noops: [slot, { ...slot, seq: 1 }] },
  { type: 'px-sync-ok', view: 2, replica: 1, key: { clock: 77, sequencer: 0 } },
  { type: 'px-sync-commit', view: 2, key: { clock: -1, sequencer: -1 } },
  { type: 'px-view-change-request', view: 3 },
  { type: 'px-view-change', view: 3, replica: 2, lastNormal: 2, log: log(3) },
  { type: 'px-start-view', view: 3, log: log(2) },
  { type: 'px-state-request', replica: 1, nonce: 5 },
  { type: 'px-state-empty', replica: 2, nonce: 5 },
  { type: 'px-state', replica: 0, nonce: 5, view: 3, normal: true, config: new Uint8Array([0x48, 10]), store: new Uint8Array([123, 125]), log: log(1) },
  { type: 'px-hold', view: 2, hold: { ...stamp, state: 'released' } },
  { type: 'px-hold-ok', view: 2, replica: 1, hold: { ...stamp, state: 'held' } },
  { type: 'px-txn-find', group: 1, stamp },
  { type: 'px-txn-answer', group: 0, stamp, status: 'found', entry: entry(3) },
  { type: 'px-txn-answer', group: 0, stamp, status: 'held', entry: null },
  { type: 'px-txn-decide', group: 1, stamp, entry: entry(1) },
  { type: 'px-txn-decide', group: 1, stamp, entry: null },
  { type: 'px-txn-decided', group: 2, stamp },
];

test('every HydraPaxos message survives an encode/decode round trip', () => {
  for (const m of samples) assert.deepEqual(hydraPaxosCodec.decode(hydraPaxosCodec.encode(m)), m, m.type);
  // Hydra's own messages share the codec.
  const flushreq = { type: 'flushreq' as const, receiver: 201, config: 3 };
  assert.deepEqual(hydraPaxosCodec.decode(hydraPaxosCodec.encode(flushreq)), flushreq);
});

test('a message larger than a datagram travels in chunks and is reassembled whole, in any order', () => {
  const big: PaxosMsg = { type: 'px-start-view', view: 7, log: log(5000) };
  const chunks = chunksOf(big, 1, 42);
  assert.ok(chunks.length > 1);
  const wire = chunks.map((c) => hydraPaxosCodec.encode(c));
  for (const b of wire) assert.ok(b.length <= MAX_DATAGRAM);
  const r = new Reassembly();
  const out = wire.reverse().map((b) => r.add(hydraPaxosCodec.decode(b) as Parameters<Reassembly['add']>[0]));
  assert.deepEqual(out.slice(0, -1), Array(chunks.length - 1).fill(null));
  assert.deepEqual(out.at(-1), big);
  assert.deepEqual(chunksOf(samples[0]!, 1, 43), [samples[0]], 'a small message is sent as it is');
});

test('malformed HydraPaxos datagrams are rejected with a specific reason', () => {
  const reason = (b: Uint8Array) => {
    try {
      hydraPaxosCodec.decode(b);
    } catch (e) {
      assert.ok(e instanceof WireError);
      return e.reason;
    }
    return 'accepted';
  };
  assert.equal(reason(new Uint8Array([0x99, 1])), 'bad-magic');
  assert.equal(reason(new Uint8Array([0x50, 200])), 'unknown-type');
  const reply = hydraPaxosCodec.encode(samples[0]!);
  assert.notEqual(reason(reply.subarray(0, reply.length - 1)), 'accepted');
  const extra = new Uint8Array(reply.length + 1);
  extra.set(reply);
  assert.equal(reason(extra), 'trailing-bytes');
  // A gap reply saying "found" without the entry.
  const found = hydraPaxosCodec.encode(samples[4]!);
  found[2 + 4 + 2 + 14] = 0;
  assert.equal(reason(found), 'bad-field');
});
