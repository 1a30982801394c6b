import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelLoopback } from '../bench/model/loopback-model.js';
import { runtimePerWakeup } from '../bench/model/member-runtime.js';
import { bftReplicaNode, bftTestbed } from '../bench/model/bft-testbed.js';
import { roleCostModel } from '../bench/model/role-cost.js';
import type { CalibrationTable } from '../bench/model/table.js';
import { pbftCodec } from '../node/pbft/codec.js';
import type { Codec } from '../node/runtime/core.js';

/** A hand-made table without UDP costs, so the expected virtual times are exact. */
const table: CalibrationTable = {
  machine: { cpus: 1, cpuModel: 'test', node: process.version }, seed: 1, reps: 1, samples: {},
  roles: { 'unreplicated-server': { request: 100 }, 'unreplicated-client': { reply: 50 } },
  udp: { send: { baseUs: 0, perByteUs: 0 }, receive: { baseUs: 0, perByteUs: 0 }, woken: { echoUs: 0 } },
};
const codec = pbftCodec as unknown as Codec<{ type: string }>;

/** The µs between the unreplicated server's replies, and its wake-ups until its last reply, with `clients` closed-loop clients (free) and a 20 µs wake-up. */
function serverWithWakeUps(clients: number) {
  const { net } = bftTestbed('pbft', 1, 0, clients, 50);
  const server = bftReplicaNode(0);
  net.setCostModel(server, roleCostModel(table, 'unreplicated-server', codec, { cores: 1, queueLimit: 64, udp: 'burst', wakeUs: 20 }));
  const replies: number[] = [];
  let wakeups = 0;
  net.tap = (from) => {
    if (from !== server) return;
    replies.push(net.now);
    // Until the last reply: afterwards its idle timers wake it too.
    wakeups = net.machineStats(server).wakeups;
  };
  net.runFor(1_000_000);
  assert.equal(replies.length, 50 * clients);
  return { gaps: new Set(replies.slice(10).map((t, i) => t - replies[i + 9]!)), wakeups };
}

test('a wake-up costs only work that finds the member idle: one client pays it on every request, four keep the server busy and do not', () => {
  // One client: hop 20, wake-up 20 + request 100, hop 20 back.
  const alone = serverWithWakeUps(1);
  assert.deepEqual(alone.gaps, new Set([160]));
  assert.equal(alone.wakeups, 50);
  // Four: the next request is always waiting when a reply leaves, so only the first ones wake the server.
  const busy = serverWithWakeUps(4);
  assert.deepEqual(busy.gaps, new Set([100]));
  assert.ok(busy.wakeups <= 4, `${busy.wakeups} wake-ups`);
});

test('the loopback model of the unreplicated server: one client\'s operation takes both members\' costs at the core\'s share, plus two hops', () => {
  const run = modelLoopback('unreplicated', table, {
    clients: 1, cores: 1, share: 0.5, wakeUs: { replicas: 10, clients: 20 }, warmUpUs: 100_000, windowUs: 1_000_000, seed: 1,
  });
  // At half speed: hop 20, the server's wake-up and request 2 × (10 + 100), hop 20, the client's wake-up and reply 2 × (20 + 50).
  const opUs = 20 + 220 + 20 + 140;
  assert.equal(run.p50_s, opUs / 1e6);
  assert.equal(run.p99_s, opUs / 1e6);
  assert.ok(Math.abs(run.ops_per_s - 1e6 / opUs) <= 1, `${run.ops_per_s} ops/s`);
  assert.equal(run.sentPerOp, 2);
  assert.ok(Math.abs(run.wakeupsPerOp.replicas! - 1) < 0.01 && Math.abs(run.wakeupsPerOp.clients! - 1) < 0.01, JSON.stringify(run.wakeupsPerOp));
  // CPU per op is counted at full speed, as a process's CPU counter would: the server 10 + 100, the client 20 + 50.
  assert.ok(Math.abs(run.cpuUsPerOp.replicas! - 110) < 0.5 && Math.abs(run.cpuUsPerOp.clients! - 70) < 0.5, JSON.stringify(run.cpuUsPerOp));
  // A process that spent 30 µs more per op than the model charges spent 30 µs per wake-up beyond it.
  const measured = { replicas: (run.cpuUsPerOp.replicas! + 30) / 1e6, clients: (run.cpuUsPerOp.clients! + 30) / 1e6, busiest_replica: 1 };
  const perWakeup = runtimePerWakeup(measured, run);
  assert.ok(Math.abs(perWakeup.replicas! - 30) < 0.5 && Math.abs(perWakeup.clients! - 30) < 0.5, JSON.stringify(perWakeup));
  assert.equal(runtimePerWakeup({ replicas: 0, clients: 0 }, run).replicas, 0, 'never negative');
});

test('the loopback model of bench hydra-apps\' HydraPaxos: every member a process on the shared core, the sequencer charged per client request, the same seed the same run', () => {
  const paxosTable: CalibrationTable = {
    ...table,
    roles: {
      'hydrapaxos-replica': { groupcast: 20, aggflush: 5 }, 'hydrapaxos-client': { 'px-reply': 10 }, 'hydra-sequencer': { client: 30 },
      'hydra-aggregator': { flush: 5 }, 'hydra-config': { 'vr-commit': 5 },
    },
  };
  const o = { clients: 2, cores: 1, share: 1, wakeUs: {}, warmUpUs: 100_000, windowUs: 300_000, seed: 1 };
  const run = modelLoopback('hydrapaxos-1', paxosTable, o);
  assert.ok(run.ops_per_s > 100, `${run.ops_per_s} ops/s`);
  assert.ok(run.p50_s! > 0 && run.p50_s! <= run.p99_s!, `p50 ${run.p50_s}, p99 ${run.p99_s}`);
  // One client request per op reaches the one sequencer: 30 µs each (its flushes cost it only sends, free here).
  assert.ok(Math.abs(run.cpuUsPerOp.sequencers! - 30) < 1, JSON.stringify(run.cpuUsPerOp));
  // Three replicas take each op's groupcast (plus their share of the aggregator's flushes); the aggregator and configuration service are members too.
  assert.ok(run.cpuUsPerOp.receivers! >= 60, JSON.stringify(run.cpuUsPerOp));
  assert.ok(run.cpuUsPerOp.aggregators! > 0 && 'configs' in run.cpuUsPerOp, JSON.stringify(run.cpuUsPerOp));
  assert.deepEqual(modelLoopback('hydrapaxos-1', paxosTable, o), run);
  // NOPaxos-style has no aggregator; a dearer sequencer on the shared core lowers throughput.
  assert.equal(modelLoopback('nopaxos-style', paxosTable, o).cpuUsPerOp.aggregators, undefined);
  const dearer = { ...paxosTable, roles: { ...paxosTable.roles, 'hydra-sequencer': { client: 300 } } };
  assert.ok(modelLoopback('hydrapaxos-1', dearer, o).ops_per_s < run.ops_per_s * 0.8);
});
