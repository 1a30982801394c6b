import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressBook } from '../node/runtime/addressing.js';
import { UdpTransport } from '../node/runtime/udp.js';

test('a datagram for an id no member has is a counted drop, not a throw; members still get theirs', async () => {
  const receiver = await UdpTransport.open({ bindHost: '127.0.0.1', port: 0, book: addressBook({ kind: 'loopback', host: '127.0.0.1', basePort: 1024 }, String), isMember: () => true });
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
  } finally {
    sender.close();
    receiver.close();
  }
});
