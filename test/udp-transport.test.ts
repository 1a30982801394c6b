import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressBook } from '../node/runtime/addressing.js';
import { UdpTransport } from '../node/runtime/udp.js';

test('a datagram for an id no member has is a counted drop, not a throw; members still get theirs', async () => {
  const heard: string[] = [];
  const receiverBook = { ...addressBook({ kind: 'loopback', host: '127.0.0.1', basePort: 1024 }, String), heardFrom: (host: string) => heard.push(host) };
  const receiver = await UdpTransport.open({ bindHost: '127.0.0.1', port: 0, book: receiverBook, isMember: () => true });
  const got = new Promise<Uint8Array>((resolve) => receiver.onReceive(resolve));
  const MEMBER = 5;
  const dropped: [string, number][] = [];
  const sender = await UdpTransport.open({
    bindHost: '127.0.0.1', port: 0, book: addressBook({ kind: 'loopback', host: '127.0.0.1', basePort: receiver.port - MEMBER }, String),
    isMember: (id) => id === MEMBER, onDropped: (reason, to) => dropped.push([reason, to]),
  });
  try {
    // 81636: a client id taken from a forged request (its loopback port would be out of range).
    for (const to of [81_636, 6, -1]) sender.send(to, Uint8Array.of(1));
    assert.deepEqual(dropped, [['unknown-destination', 81_636], ['unknown-destination', 6], ['unknown-destination', -1]]);
    sender.send(MEMBER, Uint8Array.of(42));
    assert.deepEqual([...await got], [42]);
    assert.deepEqual(heard, ['127.0.0.1'], 'the address book hears where each datagram came from');
  } finally {
    sender.close();
    receiver.close();
  }
});

test('a DNS address book looks names up again at once when a datagram comes from an address no name resolves to (a replaced pod), at most once a second and a bounded number of times per address', async () => {
  let address = '10.0.0.1';
  const asked: string[] = [];
  let now = 0;
  const dns = { lookup: async (name: string) => (asked.push(name), { address }), now: () => now };
  const book = addressBook({ kind: 'dns', prefix: 'tb', domain: 'ns.svc', port: 7000 }, (id) => `replica-${id}`, dns);
  const settle = () => new Promise((r) => setImmediate(r));
  try {
    assert.equal(book.resolve(1), undefined, 'not resolved before its lookup answers');
    await settle();
    assert.deepEqual(book.resolve(1), { host: '10.0.0.1', port: 7000 });
    assert.deepEqual(asked, ['tb-replica-1.ns.svc']);
    book.heardFrom('10.0.0.1');
    await settle();
    assert.equal(asked.length, 1, 'a known address causes no lookup');
    // The pod is replaced: its new address talks before the next periodic refresh.
    address = '10.0.0.9';
    book.heardFrom('10.0.0.9');
    await settle();
    assert.deepEqual(book.resolve(1), { host: '10.0.0.9', port: 7000 });
    assert.equal(asked.length, 2);
    // An address no name here resolves to (a peer this member never sends to): one round a second…
    now += 1000;
    for (let i = 0; i < 50; i++, now += 100) {
      book.heardFrom('10.0.0.77');
      await settle();
    }
    assert.equal(asked.length, 2 + 5);
    // …and no more than 8 in all.
    for (let i = 0; i < 20; i++, now += 1000) {
      book.heardFrom('10.0.0.77');
      await settle();
    }
    assert.equal(asked.length, 2 + 8);
  } finally {
    book.close();
  }
});
