import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hotPathBackend } from '../node/crypto/signature.js';
import { batchDigest, signPbft } from '../node/pbft/auth.js';
import { pbftCodec } from '../node/pbft/codec.js';
import type { Checkpoint, PbftMsg, ViewChange } from '../node/pbft/messages.js';
import { planNewView, viewChangeFault } from '../node/pbft/new-view.js';
import { WireError } from '../node/runtime/core.js';

const f = 1;
const secrets = Array.from({ length: 4 }, (_, i) => new Uint8Array(32).fill(i + 1));
const keysOf = (i: number) => ({ secret: secrets[i]!, publicKeys: secrets.map((s) => hotPathBackend.publicKey(s)), backend: hotPathBackend });
const enc = new TextEncoder();
const batchA = [enc.encode('request a')];
const batchB = [enc.encode('request b')];
const checkpointAt = (seq: number, signers: number[]) => signers.map((i) =>
  signPbft<Checkpoint>({ type: 'checkpoint', seq, replica: i, digest: new Uint8Array(32).fill(9), sig: new Uint8Array() }, keysOf(i)));

/** A signed VIEW-CHANGE for view 1 claiming `prepared` batches (each also pre-prepared) at the given slots. */
function change(replica: number, prepared: { seq: number; view: number; batch: Uint8Array[] }[], checkpoint: Checkpoint[] = []): ViewChange {
  const claims = prepared.map((p) => ({ seq: p.seq, view: p.view, digest: batchDigest(p.batch) }));
  return signPbft<ViewChange>({
    type: 'view-change', view: 1, replica, checkpoint, prepared: claims, prePrepared: claims, batches: prepared.map((p) => p.batch), sig: new Uint8Array(),
  }, keysOf(replica));
}

test('PBFT codec: every message type round-trips, malformed packets are refused with a reason', () => {
  const vc = change(1, [{ seq: 17, view: 0, batch: batchA }], checkpointAt(16, [0, 1, 2]));
  const msgs: PbftMsg[] = [
    { type: 'request', payload: enc.encode('x') },
    { type: 'pre-prepare', view: 3, seq: 9, replica: 3, batch: [enc.encode('a'), enc.encode('bc')], auth: new Uint8Array(32).fill(1) },
    { type: 'prepare', view: 3, seq: 9, replica: 1, digest: new Uint8Array(32).fill(2), resent: true, auth: new Uint8Array(32) },
    { type: 'commit', view: 3, seq: 9, replica: 2, digest: new Uint8Array(32).fill(3), resent: false, auth: new Uint8Array(32) },
    { type: 'reply', view: 3, replica: 2, client: 5, requestId: 77, result: enc.encode('{}'), mac: new Uint8Array(32).fill(4) },
    checkpointAt(16, [2])[0]!,
    vc,
    { type: 'new-view', view: 1, replica: 1, changes: [{ replica: 1, digest: new Uint8Array(32).fill(5) }], sig: new Uint8Array(64).fill(6) },
    { type: 'view-change-fetch', view: 1, replica: 2, wanted: 3 },
    { type: 'state-request', seq: 32, replica: 0 },
    { type: 'state-reply', seq: 16, replica: 1, checkpoint: checkpointAt(16, [0, 1, 2]), snapshot: enc.encode('{"data":[],"last":[]}') },
  ];
  for (const m of msgs) assert.deepEqual(pbftCodec.decode(pbftCodec.encode(m)), m, m.type);
  const bytes = pbftCodec.encode(vc);
  assert.throws(() => pbftCodec.decode(bytes.subarray(0, bytes.length - 1)), (e) => e instanceof WireError && e.reason === 'truncated');
  assert.throws(() => pbftCodec.decode(Uint8Array.of(0x50, 99)), (e) => e instanceof WireError && e.reason === 'unknown-type');
});

test('PBFT VIEW-CHANGE checks: a forged signature, an unproven checkpoint, a prepared claim without its batch are refused by reason', () => {
  const good = change(2, [{ seq: 3, view: 0, batch: batchA }]);
  assert.equal(viewChangeFault(good, f, keysOf(0)), null);
  assert.equal(viewChangeFault({ ...good, replica: 3 }, f, keysOf(0)), 'bad-signature');
  assert.equal(viewChangeFault(change(2, [], checkpointAt(16, [0, 1])), f, keysOf(0)), 'bad-checkpoint-proof');
  const noBody = signPbft<ViewChange>({ ...good, batches: [], sig: new Uint8Array() }, keysOf(2));
  assert.equal(viewChangeFault(noBody, f, keysOf(0)), 'missing-batch');
  const stale = change(2, [{ seq: 10, view: 0, batch: batchA }], checkpointAt(16, [0, 1, 2]));
  assert.equal(viewChangeFault(stale, f, keysOf(0)), 'claim-out-of-range');
});

test('PBFT new-view rule: a batch prepared by 2f+1 is kept, a Byzantine claim cannot replace it or fill a slot, the primary waits while undecided', () => {
  // Replicas 0–2 prepared A at slot 1 (it may have committed). Replica 3 (Byzantine) claims B
  // prepared at slot 1 in the same view, and B at slot 2 where nobody else has anything.
  const honest = [0, 1, 2].map((i) => change(i, [{ seq: 1, view: 0, batch: batchA }]));
  const byzantine = change(3, [{ seq: 1, view: 0, batch: batchB }, { seq: 2, view: 0, batch: batchB }]);
  const plan = planNewView([...honest, byzantine], f, keysOf(0));
  assert.ok(plan, 'all four VIEW-CHANGEs decide every slot');
  assert.deepEqual(plan.slots.map((s) => s.batch), [batchA, []], 'slot 1 keeps A; slot 2 (no f+1 pre-prepared B) is a null request');
  // With the Byzantine claim among only 2f+1, slot 1 is undecided (A1 fails for both A and B): the primary waits for more.
  assert.equal(planNewView([honest[1]!, honest[2]!, byzantine], f, keysOf(0)), null);
  // A later view's prepared claim wins over an earlier one when 2f+1 do not contradict it.
  const moved = planNewView([change(0, [{ seq: 1, view: 0, batch: batchA }]), change(1, [{ seq: 1, view: 2, batch: batchB }]), change(2, [{ seq: 1, view: 2, batch: batchB }])].map((c) => ({ ...c, view: 3 })).map((c) => signPbft<ViewChange>({ ...c, sig: new Uint8Array() }, keysOf(c.replica))), f, keysOf(0));
  assert.deepEqual(moved?.slots.map((s) => s.batch), [batchB]);
  // The highest proven checkpoint is where the new view starts.
  const withCheckpoint = planNewView([change(1, [], checkpointAt(16, [0, 1, 2])), change(2, []), change(3, [])], f, keysOf(0));
  assert.equal(withCheckpoint?.stable.seq, 16);
  assert.deepEqual(withCheckpoint?.slots, []);
});
