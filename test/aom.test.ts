import assert from 'node:assert/strict';
import { test } from 'node:test';
import { halfSipKey } from '../node/crypto/halfsiphash.js';
import { MacVectorKeys } from '../node/crypto/macvector.js';
import { hotPathBackend, newSecretKey } from '../node/crypto/signature.js';
import { SimNetwork } from '../node/net/sim.js';
import type { OrderedMulticast } from '../node/neobft/aom-messages.js';
import { type AomDelivery, AomReceiver, type AomReceiverAuth, type AomRejection } from '../node/neobft/aom-receiver.js';
import { AomSequencer } from '../node/neobft/aom-sequencer.js';
import { neoCodec } from '../node/neobft/codec.js';
import type { NeoMsg } from '../node/neobft/messages.js';
import { SigningController } from '../node/neobft/sign-controller.js';
import type { Core, Ctx } from '../node/runtime/core.js';
import { Driver } from '../node/runtime/driver.js';
import { SeededRandom } from '../node/runtime/random.js';

const SEQUENCER = 1;
const CLIENT = 2;
const ATTACKER = 3;
const RECEIVERS = [10, 11, 12, 13];

interface Run {
  deliveries: AomDelivery[][];
  rejections: Map<AomRejection, number>;
  captured: OrderedMulticast[];
}

/**
 * A sequencer, four receivers and a client sending `n` requests every 100 µs; `attack` may
 * inject datagrams from a Byzantine node, built from what the attacker overheard.
 */
function run(scheme: 'hm' | 'pk', o: { seed?: number; n?: number; loss?: number; budget?: number; attack?: (send: (m: NeoMsg) => void, heard: OrderedMulticast[], at: number) => void } = {}): Run {
  const net = new SimNetwork(o.seed ?? 1, { delayUs: 20, jitterUs: 5, loss: 0 });
  const rng = new SeededRandom(o.seed ?? 1);
  const keys = RECEIVERS.map(() => halfSipKey(Uint8Array.from({ length: 8 }, () => rng.int(256))));
  const secret = newSecretKey();
  const publicKey = hotPathBackend.publicKey(secret);
  const result: Run = { deliveries: RECEIVERS.map(() => []), rejections: new Map(), captured: [] };
  const boot = (id: number, core: Core<NeoMsg>) =>
    net.addNode(id, ({ transport, clock, scheduler }) => new Driver(core, neoCodec, transport, clock, scheduler));
  boot(SEQUENCER, new AomSequencer({
    group: 0, epoch: 1, receivers: [...RECEIVERS, ATTACKER],
    auth: scheme === 'hm'
      ? { scheme: 'hm', keys: new MacVectorKeys([...keys, halfSipKey(new Uint8Array(8))]) }
      : { scheme: 'pk', secret, backend: hotPathBackend, controller: new SigningController(o.budget ?? 1e9, 8), idleSignUs: 500 },
  }, { authenticated() {} }));
  RECEIVERS.forEach((id, index) => {
    const auth: AomReceiverAuth = scheme === 'hm' ? { scheme: 'hm', key: keys[index]! } : { scheme: 'pk', publicKey, backend: hotPathBackend };
    const aom = new AomReceiver({ group: 0, epoch: 1, index, auth, gapTimeoutUs: 2000, maxBuffered: 1000 }, {
      delivered: (d) => result.deliveries[index]!.push(d),
      rejected: (r) => result.rejections.set(r, (result.rejections.get(r) ?? 0) + 1),
      verified() {},
    });
    boot(id, {
      start() {},
      receive: (ctx, m) => { if (m.type === 'aom' || m.type === 'aom-sign') aom.receive(ctx, m); },
      timer: (ctx, name) => { aom.timer(ctx, name); },
    });
  });
  let sent = 0;
  const n = o.n ?? 200;
  boot(CLIENT, {
    start: (ctx) => ctx.setTimer('send', 100),
    receive() {},
    timer(ctx: Ctx<NeoMsg>) {
      ctx.send(SEQUENCER, { type: 'aom-request', group: 0, payload: new TextEncoder().encode(`request ${++sent}`) });
      if (sent < n) ctx.setTimer('send', 100);
    },
  });
  let attacker: Ctx<NeoMsg> | null = null;
  boot(ATTACKER, {
    start: (ctx) => { attacker = ctx; },
    receive: (_ctx, m) => { if (m.type === 'aom') result.captured.push(m); },
    timer() {},
  });
  net.faults = { ...net.faults, loss: o.loss ?? 0 };
  // Loss stops before the last requests, so a lost tail is revealed by the messages after it.
  net.at(n * 80, () => (net.faults = { ...net.faults, loss: 0 }));
  if (o.attack) {
    const attack = o.attack;
    net.at(n * 50, () => attack((m) => attacker!.multicast(RECEIVERS, m), result.captured, n * 50));
  }
  net.runUntil(n * 100 + 50_000);
  return result;
}

const payloads = (ds: AomDelivery[]) => ds.map((d) => (d.kind === 'message' ? new TextDecoder().decode(d.msg.payload) : `drop ${d.seq}`));

for (const scheme of ['hm', 'pk'] as const) {
  test(`AOM-${scheme.toUpperCase()}: every receiver delivers every request in the same order`, () => {
    const r = run(scheme, { budget: scheme === 'pk' ? 2000 : undefined });
    for (const d of r.deliveries) assert.deepEqual(payloads(d), Array.from({ length: 200 }, (_, i) => `request ${i + 1}`));
    assert.equal(r.rejections.size, 0, JSON.stringify([...r.rejections]));
  });

  test(`AOM-${scheme.toUpperCase()}: under loss, each sequence number is the message or a drop notification, the same everywhere it was delivered`, () => {
    const r = run(scheme, { loss: 0.05, seed: 3, budget: scheme === 'pk' ? 2000 : undefined });
    const bySeq = new Map<number, string>();
    const stamped = Math.max(...r.deliveries.flat().map((x) => (x.kind === 'message' ? x.msg.header.seq : x.seq)));
    assert.ok(stamped > 150 && stamped < 200, `requests lost on the way to the sequencer too (${stamped} stamped)`);
    for (const d of r.deliveries) {
      assert.equal(d.length, stamped, 'one entry per sequence number');
      d.forEach((x, i) => {
        const seq = x.kind === 'message' ? x.msg.header.seq : x.seq;
        assert.equal(seq, i + 1);
        if (x.kind === 'message') {
          const text = new TextDecoder().decode(x.msg.payload);
          assert.equal(bySeq.get(seq) ?? text, text);
          bySeq.set(seq, text);
        }
      });
    }
    assert.ok(r.deliveries.some((d) => d.some((x) => x.kind === 'drop')), 'some drops happened');
  });

  test(`AOM-${scheme.toUpperCase()}: forged, replayed, corrupted and wrong-epoch messages are rejected by reason and never delivered`, () => {
    const r = run(scheme, {
      budget: scheme === 'pk' ? 1e9 : undefined,
      attack: (send, heard) => {
        const last = heard.at(-1)!;
        const forged = new TextEncoder().encode('forged');
        const next = { ...last, header: { ...last.header, seq: last.header.seq + 10 } };
        // A message for a future number under a made-up authenticator.
        send({
          ...next, payload: forged, header: { ...next.header, digest: new Uint8Array(32) },
          auth: last.auth.scheme === 'hm' ? { scheme: 'hm', macs: new Uint32Array(5).fill(7) } : { ...last.auth, signature: new Uint8Array(64).fill(1) },
        });
        send(heard[0]!); // replay
        send({ ...last, header: { ...last.header, seq: last.header.seq + 20 }, payload: forged }); // digest does not match
        send({ ...last, header: { ...last.header, epoch: 2 } });
      },
    });
    for (const d of r.deliveries) assert.ok(!payloads(d).includes('forged'));
    const expect: AomRejection[] = ['replayed', 'corrupted', 'wrong-epoch'];
    for (const reason of expect) assert.ok((r.rejections.get(reason) ?? 0) >= 4, `${reason}: ${JSON.stringify([...r.rejections])}`);
    assert.ok((r.rejections.get('corrupted') ?? 0) >= 8, 'the forged digest and the mismatched payload');
  });
}

test('AOM-HM: a message under a forged MAC vector (correct digest) is rejected as bad-mac', () => {
  const r = run('hm', {
    attack: (send, heard) => {
      const last = heard.at(-1)!;
      send({ ...last, header: { ...last.header, seq: last.header.seq + 1 }, auth: { scheme: 'hm', macs: new Uint32Array(5).fill(99) } });
    },
  });
  assert.equal(r.rejections.get('bad-mac'), 4);
});

test('AOM-PK: unsigned messages are delivered once a later signature authenticates the chain; a forged unsigned one breaks it', () => {
  // A budget of 200 signatures per second at 10,000 messages per second: most messages are unsigned.
  const ok = run('pk', { budget: 200 });
  for (const d of ok.deliveries) assert.equal(d.filter((x) => x.kind === 'message').length, 200);
  const forged = run('pk', {
    budget: 0,
    attack: (send, heard) => {
      const last = heard.at(-1)!;
      // An unsigned message claiming a far number with a made-up link: no signature will ever cover it.
      if (last.auth.scheme === 'pk') send({ ...last, header: { ...last.header, seq: last.header.seq + 500 }, auth: { ...last.auth, signature: null } });
    },
  });
  for (const d of forged.deliveries) assert.deepEqual(payloads(d), Array.from({ length: 200 }, (_, i) => `request ${i + 1}`), 'no drop notifications on an unverified claim');
  assert.equal(forged.rejections.get('unverifiable'), 4, 'each receiver lets the forged message go');
});

test('AOM-PK: a forged unsigned message sent ahead of the real one is told apart by the chain', () => {
  const r = run('pk', {
    budget: 0,
    n: 400,
    attack: (send, heard) => {
      const last = heard.at(-1)!;
      if (last.auth.scheme !== 'pk') return;
      // Claim the next three numbers before the sequencer uses them.
      for (let k = 1; k <= 3; k++) {
        send({ ...last, header: { ...last.header, seq: last.header.seq + k, digest: last.header.digest }, auth: { ...last.auth, signature: null } });
      }
    },
  });
  for (const d of r.deliveries) assert.deepEqual(payloads(d), Array.from({ length: 400 }, (_, i) => `request ${i + 1}`));
  assert.equal(r.rejections.get('chain-broken'), 12, 'three forgeries at each of four receivers');
});
