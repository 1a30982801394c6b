import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KvStore, decodeKvRequest, decodeKvSnapshot, decodeResult, encodeKvRequest, encodeKvSnapshot, encodeResult, kvStateMachine, openKvState } from '../node/apps/kv.js';
import { decodeShardResult, decodeTxnRequest, encodeTxnRequest, txnStateMachine } from '../node/apps/txn.js';
import { kvApp } from '../node/capybara/app/kv.js';
import { takeReply } from '../node/capybara/replies.js';
import { nobleBackend, newSecretKey } from '../node/crypto/signature.js';
import { openSignedRequest, signRequest } from '../node/neobft/requests.js';
import { anyJson, decodeOrRefuse, fuzzDecoder, fuzzParameters } from './support/fuzz.js';

/**
 * Every payload a protocol core parses beyond its codec — the applications' requests, results
 * and snapshots, signed requests, the Capybara key-value server's command stream — under
 * damaged and random input (see support/fuzz.ts): refused with a WireError or decoded to a value
 * that round-trips, never another exception.
 */

const enc = new TextEncoder();
const kvRequests = [
  { client: 3, requestId: 4_000_000_000, op: { op: 'get' as const, key: 'k1' } },
  { client: 0, requestId: 1, op: { op: 'put' as const, key: 'k0', value: 'vé' } },
  { client: 999, requestId: 77, op: { op: 'cas' as const, key: 'k7', expected: null, value: '' } },
  { client: 2, requestId: 78, op: { op: 'cas' as const, key: 'k7', expected: 'a', value: 'b' } },
];

/** JSON with a snapshot's two lists, holding anything: what makes a snapshot decoder check each entry. */
const snapshotShaped = fc.oneof(anyJson, fc.record({ data: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }), last: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }) })
  .map((o) => enc.encode(JSON.stringify(o))));

function kvStore(): KvStore {
  const store = new KvStore();
  for (const q of kvRequests) store.execute(q);
  return store;
}

test('key-value requests, results and snapshots: refused with a WireError or round-trip', () => {
  fuzzDecoder({ decode: decodeKvRequest, encode: encodeKvRequest, valid: kvRequests.map(encodeKvRequest) });
  const snapshot = encodeKvSnapshot(kvStore().snapshot());
  fuzzDecoder({ decode: decodeKvSnapshot, encode: encodeKvSnapshot, valid: [snapshot], more: snapshotShaped });
  fuzzDecoder({ decode: (b) => kvStateMachine(1000).restore(b).snapshot(), valid: [snapshot], more: snapshotShaped });
  const digest = kvStore().digest();
  fc.assert(fc.property(fc.oneof(snapshotShaped, fc.constant(snapshot)), (b) => {
    const opened = openKvState(b, digest);
    assert.ok(opened instanceof KvStore || opened === 'malformed-state' || opened === 'state-digest-mismatch');
  }), fuzzParameters());
});

test('key-value results (a client decoding a reply): refused with a WireError or round-trip', () => {
  fuzzDecoder({ decode: decodeResult, encode: encodeResult, valid: [encodeResult({ value: 'v' }), encodeResult({ ok: false })], more: anyJson });
});

test('HydraTxn requests, shard results and snapshots: refused with a WireError or round-trip', () => {
  const txns = [
    { client: 1, requestId: 9, ops: [{ op: 'get' as const, key: 'a' }, { op: 'put' as const, key: 'b', value: 'x' }, { op: 'add' as const, key: 'c', delta: -5 }] },
    { client: 65535, requestId: 0, ops: [{ op: 'add' as const, key: '', delta: 2 ** 53 - 1 }] },
  ];
  fuzzDecoder({ decode: decodeTxnRequest, encode: encodeTxnRequest, valid: txns.map(encodeTxnRequest) });
  const result = enc.encode(JSON.stringify([[0, 'x'], [2, null]]));
  fuzzDecoder({ decode: decodeShardResult, encode: (r) => enc.encode(JSON.stringify(r)), valid: [result], more: anyJson });
  const machine = txnStateMachine(0, 2, 65536).create();
  for (const q of txns) machine.execute(encodeTxnRequest(q));
  fuzzDecoder({ decode: (b) => txnStateMachine(0, 2, 65536).restore(b).snapshot(), valid: [machine.snapshot()], more: snapshotShaped });
});

test('client-signed requests: refused with a WireError (bad signature or malformed request), or opened', () => {
  const secret = newSecretKey();
  const pub = nobleBackend.publicKey(secret);
  const signed = kvRequests.map((q) => signRequest(encodeKvRequest(q), secret, nobleBackend));
  fc.assert(fc.property(fc.constantFrom(...signed), fc.nat(), fc.integer({ min: 0, max: 7 }), (b, at, bit) => {
    const damagedCopy = b.slice();
    damagedCopy[at % b.length] ^= 1 << bit;
    // One flipped bit anywhere: the request or its signature no longer match.
    assert.equal(decodeOrRefuse((x) => openSignedRequest(x, () => pub, nobleBackend), damagedCopy), null);
  }), { ...fuzzParameters(), numRuns: 40 });
  fuzzDecoder({ decode: (b) => openSignedRequest(b, () => pub, nobleBackend), valid: signed, runs: 60 });
});

test('the Capybara key-value server takes any byte stream: a reply per complete line, never an exception', () => {
  const commands = enc.encode('SET a 1\r\nINCR a\r\nGET a\r\nDEL a\r\nPING\r\nINCR 99999999999999999999999\r\n');
  fc.assert(fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.constant(commands)), { maxLength: 6 }), (chunks) => {
    const session = kvApp.open();
    let lines = 0;
    for (const c of chunks) lines += session.feed(c).requests;
    const all = Buffer.concat(chunks).toString('latin1');
    assert.equal(lines, all.split('\r\n').length - 1);
    assert.ok(kvApp.restore(session.exportState()), 'its state migrates');
  }), fuzzParameters());
});

test('a Capybara client splits any byte stream from its server into replies, each one taking bytes off the stream', () => {
  const resp = fc.constantFrom('+OK\r\n', ':12\r\n', '$3\r\nabc\r\n', '$-1\r\n', '$x\r\n', '$1e3\r\n', '$99999999999\r\n', '-ERR no\r\n', 'line\n');
  const noise = fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString('latin1'));
  fc.assert(fc.property(fc.array(fc.oneof(resp, noise), { maxLength: 8 }), fc.constantFrom('kv' as const, 'echo' as const), (parts, app) => {
    let inbox = parts.join('');
    for (let next = takeReply(inbox, app); next !== null; next = takeReply(inbox, app)) {
      assert.ok(next.rest.length < inbox.length && inbox.endsWith(next.rest), `${JSON.stringify(inbox)} → ${JSON.stringify(next)}`);
      inbox = next.rest;
    }
  }), fuzzParameters());
});
