import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimNetwork } from '../node/net/sim.js';
import { type CostModel, SimHost } from '../node/net/sim-machine.js';
import { InvariantError } from '../node/protocol/invariant.js';
import type { Transport } from '../node/runtime/transport.js';

/** Datagram i costs its first byte × 10 µs to receive (a stand-in for a codec classifying it). */
const byFirstByte = (cores: number, sendUs = 0, queueLimit = 100): CostModel => ({
  cores, queueLimit, receiveUs: (b) => b[0]! * 10, sendUs: () => sendUs,
});

/** Node 1 sends to node 2 over 10 µs links; node 2 records (virtual time, first byte) per handled datagram. */
function pair(net: SimNetwork) {
  const handled: [number, number][] = [];
  let sender: Transport | null = null;
  net.addNode(2, ({ transport }) => ({ start: () => transport.onReceive((b) => handled.push([net.now, b[0]!])), stop() {} }));
  net.addNode(1, ({ transport }) => ({ start: () => (sender = transport), stop() {} }));
  const send = (...firstBytes: number[]) => {
    for (const b of firstBytes) sender!.send(2, new Uint8Array([b, 0, 0, 0]));
  };
  return { handled, send };
}

test('a one-core member serves its inputs FIFO, each at its own cost', () => {
  const net = new SimNetwork(1, { delayUs: 10 });
  const { handled, send } = pair(net);
  net.setCostModel(2, byFirstByte(1));
  send(3, 1, 2);
  net.runFor(1000);
  // All arrive at 10; served 10–40, 40–50, 50–70.
  assert.deepEqual(handled, [[40, 3], [50, 1], [70, 2]]);
  assert.equal(net.machineStats(2).busyUs, 60);
});

test('a two-core member serves two inputs at once, yet hands them to its core in arrival order', () => {
  const run = (cores: number, ...bytes: number[]) => {
    const net = new SimNetwork(1, { delayUs: 10 });
    const { handled, send } = pair(net);
    net.setCostModel(2, byFirstByte(cores));
    send(...bytes);
    net.runFor(1000);
    return handled;
  };
  assert.deepEqual(run(2, 3, 3), [[40, 3], [40, 3]]);
  assert.deepEqual(run(1, 3, 3), [[40, 3], [70, 3]]);
  // The second is served first (10–20) but waits for the first (10–40): the core is sequential.
  assert.deepEqual(run(2, 3, 1), [[40, 3], [40, 1]]);
  // A third input takes the core freed at 20.
  assert.deepEqual(run(2, 3, 1, 1), [[40, 3], [40, 1], [40, 1]]);
  assert.deepEqual(run(2, 3, 1, 4), [[40, 3], [40, 1], [60, 4]]);
});

test('sending costs the sender CPU: datagrams leave one send cost apart', () => {
  const net = new SimNetwork(1, { delayUs: 10 });
  const { handled, send } = pair(net);
  net.setCostModel(1, byFirstByte(1, 7));
  send(1, 1, 1);
  net.runFor(1000);
  assert.deepEqual(handled.map(([t]) => t), [17, 24, 31]);
  assert.equal(net.machineStats(1).busyUs, 21);
});

test('a backlog beyond queueLimit is dropped, and a crash empties the machine', () => {
  const net = new SimNetwork(1, { delayUs: 10 });
  const { handled, send } = pair(net);
  net.setCostModel(2, byFirstByte(2, 0, 3));
  send(5, 5, 5, 5, 5);
  net.runFor(1000);
  assert.deepEqual(handled.map(([t]) => t), [60, 60, 110]);
  assert.equal(net.stats.overflowed, 2);
  send(5, 5);
  net.runFor(30);
  net.crash(2);
  net.restart(2);
  net.runFor(1000);
  assert.equal(handled.length, 3, 'inputs in service at the crash are lost with it');
  send(1);
  net.runFor(1000);
  assert.equal(handled.length, 4, 'the restarted machine serves again');
});

test('link bandwidth delays a datagram by its serialization time, queued per direction', () => {
  const net = new SimNetwork(1, { delayUs: 10 });
  const got: [number, number][] = [];
  let sender: Transport | null = null;
  net.addNode(2, ({ transport }) => ({ start: () => transport.onReceive((b) => got.push([net.now, b.length])), stop() {} }));
  net.addNode(1, ({ transport }) => ({ start: () => (sender = transport), stop() {} }));
  net.setLink(1, 2, { latencyUs: 5, bps: 1e6 });
  // 1250 bytes at 1 Mb/s: 10 ms on the wire; 125 bytes: 1 ms, after the large one.
  sender!.send(2, new Uint8Array(1250));
  sender!.send(2, new Uint8Array(125));
  net.runFor(100_000);
  assert.deepEqual(got, [[10_005, 1250], [11_005, 125]]);
  // The default link applies to directions without their own; 2 → 1 is not queued behind 1 → 2.
  net.setDefaultLink({ bps: 8e6 });
  const back: number[] = [];
  net.addNode(3, ({ transport }) => ({ start: () => transport.onReceive(() => back.push(net.now)), stop() {} }));
  const t0 = net.now;
  sender!.send(3, new Uint8Array(1000));
  net.runFor(100_000);
  assert.deepEqual(back, [t0 + 1000 + 10]);
});

test('a switch role without a cost model is hardware at line rate: only its links delay it', () => {
  const net = new SimNetwork(1, { delayUs: 10 });
  const got: number[] = [];
  net.addNode(3, ({ transport }) => ({ start: () => transport.onReceive(() => got.push(net.now)), stop() {} }));
  net.addNode(2, ({ transport }) => ({ start: () => transport.onReceive((b) => transport.send(3, b)), stop() {} }));
  let sender: Transport | null = null;
  net.addNode(1, ({ transport }) => ({ start: () => (sender = transport), stop() {} }));
  for (let i = 0; i < 100; i++) sender!.send(2, new Uint8Array(64));
  net.runFor(1000);
  assert.deepEqual(got, Array(100).fill(20));
  assert.equal(net.machineStats(2).busyUs, 0);
});

test('the same seed replays a costed run exactly, and a broken cost is caught where it happens', () => {
  const run = (seed: number) => {
    const net = new SimNetwork(seed, { delayUs: 10, jitterUs: 20, loss: 0.1 });
    const { handled, send } = pair(net);
    net.setCostModel(2, byFirstByte(2, 0, 8));
    net.setCostModel(1, byFirstByte(1, 3));
    net.setLink(1, 2, { bps: 1e7 });
    for (let i = 0; i < 50; i++) send(1 + (i % 4));
    net.runFor(100_000);
    return { handled, stats: { ...net.stats } };
  };
  assert.deepEqual(run(5), run(5));
  assert.notDeepEqual(run(5).handled, run(6).handled);
  const net = new SimNetwork(1, { delayUs: 10 });
  const { send } = pair(net);
  net.setCostModel(2, { cores: 1, queueLimit: 4, receiveUs: () => -1, sendUs: () => 0 });
  send(1);
  assert.throws(() => net.runFor(100), InvariantError);
  assert.throws(() => net.setCostModel(2, { ...byFirstByte(1), cores: 0 }), InvariantError);
});

test('members sharing a host take its cores in turn: two one-core members on one core serve one after the other', () => {
  const run = (hostCores: number, memberThreads: number) => {
    const net = new SimNetwork(1, { delayUs: 10 });
    const host = new SimHost(hostCores);
    const got: [number, number][] = [];
    for (const id of [2, 3]) {
      net.addNode(id, ({ transport }) => ({ start: () => transport.onReceive(() => got.push([net.now, id])), stop() {} }));
      net.setCostModel(id, { ...byFirstByte(memberThreads), host });
    }
    let sender: Transport | null = null;
    net.addNode(1, ({ transport }) => ({ start: () => (sender = transport), stop() {} }));
    for (const to of [2, 3, 2]) sender!.send(to, Uint8Array.of(3));
    net.runFor(1000);
    return got;
  };
  assert.deepEqual(run(1, 1), [[40, 2], [70, 3], [100, 2]]);
  assert.deepEqual(run(2, 1), [[40, 2], [40, 3], [70, 2]]);
  // Two threads of member 2 help only when the host has a core to spare.
  assert.deepEqual(run(2, 2), [[40, 2], [40, 3], [70, 2]]);
  assert.deepEqual(run(3, 2), [[40, 2], [40, 3], [40, 2]]);
});

test('a timer with a cost waits behind the inputs queued before it, takes its cost, then runs; a cancelled one costs nothing', () => {
  const net = new SimNetwork(1, { delayUs: 10 });
  const events: [number, string][] = [];
  net.addNode(2, ({ transport, scheduler }) => ({
    start: () => {
      transport.onReceive((b) => events.push([net.now, `input ${b[0]}`]));
      scheduler.schedule(15, () => events.push([net.now, 'tick']), 'tick');
      const gone = scheduler.schedule(16, () => events.push([net.now, 'gone']), 'gone');
      scheduler.cancel(gone);
    },
    stop() {},
  }));
  let sender: Transport | null = null;
  net.addNode(1, ({ transport }) => ({ start: () => (sender = transport), stop() {} }));
  net.setCostModel(2, { ...byFirstByte(1), timerUs: (name) => (name === 'tick' ? 25 : 1000) });
  sender!.send(2, Uint8Array.of(3));
  sender!.send(2, Uint8Array.of(1));
  net.runFor(1000);
  // Inputs arrive at 10: 10–40 and 40–50; the tick, due at 15, queues behind both (50–75).
  assert.deepEqual(events, [[40, 'input 3'], [50, 'input 1'], [75, 'tick']]);
  assert.equal(net.machineStats(2).busyUs, 65);
});

test('a wake-up is charged to input taken up by an idle member or on a core that last ran another: never twice in a row on a core of its own', () => {
  const run = (shared: boolean) => {
    const net = new SimNetwork(1, { delayUs: 10 });
    const host = shared ? new SimHost(1) : undefined;
    const got: [number, number][] = [];
    for (const id of [2, 3]) {
      net.addNode(id, ({ transport }) => ({ start: () => transport.onReceive(() => got.push([net.now, id])), stop() {} }));
      net.setCostModel(id, { ...byFirstByte(1), wakeUs: 5, host });
    }
    let sender: Transport | null = null;
    net.addNode(1, ({ transport }) => ({ start: () => (sender = transport), stop() {} }));
    for (const to of [2, 3, 2, 2]) sender!.send(to, Uint8Array.of(3));
    net.runFor(1000);
    return { got, wakeups: [2, 3].map((id) => net.machineStats(id).wakeups) };
  };
  // Machines of their own: each wakes once at 10 (5 + 30), then member 2 stays busy (30 each).
  assert.deepEqual(run(false), { got: [[45, 2], [45, 3], [75, 2], [105, 2]], wakeups: [1, 1] });
  // One shared core: 2 (woken), 3 (switched in), 2 (switched in), then 2 again on its own core (no wake-up).
  assert.deepEqual(run(true), { got: [[45, 2], [80, 3], [115, 2], [145, 2]], wakeups: [2, 1] });
});
