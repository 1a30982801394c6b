import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireError } from '../node/runtime/core.js';
import { MAX_DATAGRAM, PaxosReassembly, chunksOf, hydraPaxosCodec } from '../node/hydrapaxos/codec.js';
import type { PaxosMsg } from '../node/hydrapaxos/messages.js';
import { paxosLog as log, paxosSamples as samples } from './support/wire-samples.js';


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
  const r = new PaxosReassembly();
  const out = wire.reverse().map((b) => r.add(hydraPaxosCodec.decode(b) as Parameters<PaxosReassembly['add']>[0]));
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
