import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvModel } from '../node/check/kv-model.js';
import { checkLinearizable } from '../node/check/linearizability.js';
import { checkHydraHistories } from '../node/hydra/check.js';
import { hydraCodec } from '../node/hydra/codec.js';
import type { HydraMsg } from '../node/hydra/messages.js';
import { SEQ_WINDOW } from '../node/hydra/receiver.js';
import { HydraSim, defaultSimOptions } from '../node/hydra/simulation.js';
import { allReceivers } from '../node/hydra/topology.js';
import { HydraPaxosSim, defaultPaxosSimOptions } from '../node/hydrapaxos/simulation.js';
import type { NodeId } from '../node/runtime/core.js';
import type { SimNetwork } from '../node/net/sim.js';

/**
 * Forged Hydra datagrams claiming sequence numbers far beyond what a sequencer can have stamped
 * (issue 18, bad input): one such flush once made every receiver drop-notify each number up to
 * it, one by one — 2^40 of them, a receiver hung for good. Now they are refused and counted.
 */

const MS = 1000;
const FORGER: NodeId = 99;
const FAR = 2 ** 40;

/** Sequencer 0's claims far ahead for every group: a flush, the same inside an aggregated flush, and a groupcast. */
function forgeries(groups: number, clock: number, far: number): Uint8Array[] {
  const flush = { sequencer: 0, config: 1, clock, seqs: Array.from({ length: groups }, () => far) };
  const msgs: HydraMsg[] = [
    { type: 'flush', solicited: false, ...flush },
    { type: 'aggflush', flushes: [flush] },
    {
      type: 'groupcast', config: 1, sequencer: 0, clock, groups: (1 << groups) - 1, stamps: Array.from({ length: groups }, () => far),
      client: 0, msgId: 1, sentAt: clock, payload: new Uint8Array(8),
    },
  ];
  return msgs.map((m) => hydraCodec.encode(m));
}

function forge(net: SimNetwork, at: number, to: readonly NodeId[], datagrams: Uint8Array[]): void {
  net.at(at, () => net.addNode(FORGER, ({ transport }) => ({ start: () => datagrams.forEach((d) => to.forEach((r) => transport.send(r, d))), stop() {} })));
}

test('a forged flush (or groupcast) claiming 2^40 messages is refused by every receiver; ordering and delivery go on', () => {
  const sim = new HydraSim({ ...defaultSimOptions, seed: 3, faults: { delayUs: 30, jitterUs: 20 } });
  const receivers = allReceivers(sim.topology);
  forge(sim.net, 50 * MS, receivers, [...forgeries(sim.topology.groups, 50 * MS, FAR), ...forgeries(sim.topology.groups, 50 * MS, SEQ_WINDOW + 10_000)]);
  sim.net.runUntil(150 * MS);
  sim.stopClients();
  sim.net.runUntil(250 * MS);
  assert.equal(sim.rejections.get('beyond-window'), 6 * receivers.length, 'each forgery refused at each receiver');
  const logs = [...sim.logs.values()];
  assert.deepEqual(checkHydraHistories(logs.map((l) => ({ receiver: l.node, group: l.group, deliveries: l.deliveries })), false), []);
  for (const l of logs) {
    const drops = l.deliveries.filter((d) => d.kind === 'drop').length;
    assert.equal(drops, 0, `receiver ${l.node} drop-notified nothing (no loss in this run)`);
    assert.ok(l.times.some((t) => t > 100 * MS), `receiver ${l.node} still delivers after the forgery`);
  }
});

test('HydraPaxos replicas refuse a forged flush 10^6 ahead and stay linearizable and live', () => {
  const sim = new HydraPaxosSim({ ...defaultPaxosSimOptions, seed: 4, clients: 3, requestsPerClient: 60, faults: { delayUs: 50, jitterUs: 30 } });
  const replicas = allReceivers(sim.hydra.topology);
  forge(sim.net, 200 * MS, replicas, forgeries(sim.hydra.topology.groups, 200 * MS, 1_000_000).slice(0, 1));
  sim.net.runUntil(3_000 * MS);
  assert.equal(sim.hydra.rejections.get('beyond-window'), replicas.length);
  assert.equal(sim.history.length, 3 * 60, 'every request completed');
  assert.ok(checkLinearizable(kvModel, sim.fullHistory()).linearizable);
  assert.equal(sim.counters.noops, 0, 'no slot was given up as lost');
});
