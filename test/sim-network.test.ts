import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimNetwork } from '../node/net/sim.js';
import type { Transport } from '../node/runtime/transport.js';

/** Two nodes: 1 sends `count` datagrams to 2 at t = 0; 2 records arrival times. */
function pair(net: SimNetwork, count: number) {
  const got: number[] = [];
  let sender: Transport | null = null;
  net.addNode(2, ({ transport }) => ({ start: () => transport.onReceive(() => got.push(net.now)), stop() {} }));
  net.addNode(1, ({ transport }) => ({ start: () => (sender = transport), stop() {} }));
  const send = () => {
    for (let i = 0; i < count; i++) sender!.send(2, new Uint8Array([i & 0xff]));
  };
  return { got, send };
}

test('the simulated network applies loss, duplication and delay from its seed, and replays', () => {
  const run = (seed: number) => {
    const net = new SimNetwork(seed, { loss: 0.1, duplicate: 0.1, delayUs: 50, jitterUs: 10 });
    const { got, send } = pair(net, 1000);
    send();
    net.runFor(1000);
    return { got, stats: { ...net.stats } };
  };
  const a = run(3);
  assert.ok(a.stats.lost > 50 && a.stats.lost < 150, `lost ${a.stats.lost}`);
  assert.ok(a.stats.duplicated > 50 && a.stats.duplicated < 150, `duplicated ${a.stats.duplicated}`);
  assert.ok(a.got.every((t) => t >= 50 && t <= 60));
  assert.deepEqual(run(3), a);
  assert.notDeepEqual(run(4).got, a.got);
});

test('partitions, crashes and capacity limits', () => {
  const net = new SimNetwork(1, { delayUs: 10 });
  const { got, send } = pair(net, 10);
  net.partition([1], [2]);
  send();
  net.runFor(100);
  assert.equal(got.length, 0);
  assert.equal(net.stats.blocked, 10);
  net.heal();
  net.crash(2);
  send();
  net.runFor(100);
  assert.equal(got.length, 0, 'a crashed node receives nothing');
  net.restart(2);
  net.setCapacity(2, { serviceUs: 5, queueLimit: 4 });
  send();
  net.runFor(1000);
  // At most four are held (one in service, three waiting); the rest overflow. Service spaces them 5 µs apart.
  assert.equal(got.length, 4);
  assert.equal(net.stats.overflowed, 6);
  assert.deepEqual(got.map((t) => t - got[0]!), [0, 5, 10, 15]);
});

test('node clocks are skewed, drift, and read whole microseconds', () => {
  const net = new SimNetwork(1);
  let read: () => number = () => 0;
  net.addNode(1, ({ clock }) => ({ start: () => (read = () => clock.now()), stop() {} }), { skewUs: 500, drift: 0.01 });
  net.runUntil(10_000);
  assert.equal(read(), 500 + 10_100);
  net.runUntil(10_000.7);
  assert.equal(read(), Math.floor(500 + 10_000.7 * 1.01));
});
