import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeKvRequest, decodeResult, encodeResult } from '../node/apps/kv.js';
import { decodeTxnRequest } from '../node/apps/txn.js';
import type { KvOutput } from '../node/check/kv-model.js';
import { initialConfig } from '../node/hydra/topology.js';
import { type HydraApplication, clientApplication } from '../node/hydrapaxos/application.js';
import { hydraPaxosClient } from '../node/hydrapaxos/client.js';
import type { HydraPaxosMsg } from '../node/hydrapaxos/messages.js';
import { hydraPaxosCodec } from '../node/hydrapaxos/codec.js';
import type { Ctx } from '../node/runtime/core.js';
import { SeededRandom } from '../node/runtime/random.js';

const enc = new TextEncoder();

/** A context that records what the client sends, at a clock the test moves. */
function recorder() {
  const sent: HydraPaxosMsg[] = [];
  const ctx: Ctx<HydraPaxosMsg> & { now: number } = {
    now: 1_000_000, send: (_to, m) => sent.push(m), multicast: (_to, m) => sent.push(m), setTimer() {}, cancelTimer() {},
  };
  return { ctx, sent };
}

function client(application: HydraApplication) {
  const topology = { groups: 1, receiversPerGroup: 3, clients: 1, aggregator: false, configReplicas: 3, initial: initialConfig(1) };
  const rejected: string[] = [];
  const completed: unknown[] = [];
  const core = hydraPaxosClient({ client: 0, topology, requests: 1, retryUs: 100_000, ...clientApplication(application, 1, 4, 0) },
    new SeededRandom(3), { completed: (op) => completed.push(op.output), retried() {}, rejectedReply: (why) => rejected.push(why) });
  const { ctx, sent } = recorder();
  core.start(ctx);
  ctx.now += 10;
  core.timer(ctx, 'pace');
  const request = sent.find((m) => m.type === 'client');
  assert.ok(request && request.type === 'client');
  const requestId = (application === 'hydrapaxos' ? decodeKvRequest : decodeTxnRequest)(request.payload).requestId;
  // Replies go through the codec first, as from the network: what they carry decodes as bytes.
  const reply = (replica: number, result: Uint8Array | null) => core.receive(ctx, hydraPaxosCodec.decode(hydraPaxosCodec.encode({
    type: 'px-reply', view: 1, group: 0, replica, client: 0, requestId, slot: { sequencer: 0, epoch: 1, seq: 1 }, result,
  })));
  return { reply, rejected, completed };
}

test('a HydraPaxos client refuses, and counts, a leader reply whose result is not a key-value result; a real one still completes the request', () => {
  const c = client('hydrapaxos');
  for (const bad of ['{"value":', 'null', '[1]', '{"value": 3}', '{"ok": "yes"}', '{"value": null, "ok": true}', '\u00ff']) {
    assert.doesNotThrow(() => c.reply(0, enc.encode(bad)));
  }
  assert.deepEqual(c.rejected, Array(7).fill('bad-result'));
  assert.equal(c.completed.length, 0);
  c.reply(1, null);
  c.reply(0, encodeResult({ ok: true }));
  assert.deepEqual(c.completed, [{ ok: true }]);
});

test('a HydraTxn client refuses, and counts, a reply whose shard result is not one', () => {
  const c = client('hydratxn');
  for (const bad of ['not json', '{"a": 1}', '[["x", null]]']) assert.doesNotThrow(() => c.reply(0, enc.encode(bad)));
  assert.deepEqual(c.rejected, Array(3).fill('bad-result'));
  assert.equal(c.completed.length, 0);
});

test('decodeResult accepts exactly the three result shapes', () => {
  const shapes: KvOutput[] = [{}, { value: null }, { value: 'v' }, { ok: false }];
  for (const ok of shapes) assert.deepEqual(decodeResult(encodeResult(ok)), ok);
  assert.throws(() => decodeResult(enc.encode('{"value":')), { name: 'WireError', reason: 'bad-result' });
});
