import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHydraHistories } from '../node/hydra/check.js';
import { HydraSim, defaultSimOptions } from '../node/hydra/simulation.js';
import { AGGREGATOR, clientNode, configNodes, receiverNode, sequencerNode } from '../node/hydra/topology.js';
import { histories, undelivered } from './support/hydra-sim.js';
import { flush, groupcast, receiverHarness as harness } from './support/receiver-harness.js';

const MS = 1000;

/**
 * A receiver behind the current configuration (nothing from the configuration service reaches
 * it, as when the service's address for it is stale, or it is cut off from everyone, while
 * sequencer 2 is removed and added again) must not get healthy sequencers removed
 * (docs/hydra.md#receivers-and-the-minimum-barrier). Before: once the sequencers stamped in the
 * newer configurations, the receiver parked their messages without counting them as heard,
 * suspected every one of them in its old configuration, and the service, which took any
 * suspicion raised at or after the suspected incarnation joined, removed them.
 */
type Cut = 'from the service' | 'from everyone' | 'from the service, sequencer 1 crashes';

function runBehind(seed: number, cut: Cut): HydraSim {
  const sim = new HydraSim({ ...defaultSimOptions, seed, aggregator: seed % 2 === 0, faults: { delayUs: 30, jitterUs: 20, loss: 0.002 } });
  const behind = receiverNode(seed % 2, 0);
  const everyone = [
    ...configNodes(sim.topology), AGGREGATOR, ...[0, 1, 2].map(sequencerNode), ...[...sim.logs.keys()].filter((r) => r !== behind),
    ...Array.from({ length: sim.o.clients }, (_, c) => clientNode(c)),
  ];
  // Cut off for eight failure timeouts: from everyone both ways, or from the service's messages only.
  if (cut === 'from everyone') sim.net.at(40 * MS, () => sim.net.partition([behind], everyone));
  else sim.net.at(40 * MS, () => configNodes(sim.topology).forEach((c) => sim.net.cutUntil(c, behind, 200 * MS)));
  sim.net.at(50 * MS, () => sim.setSequencers([0, 1]));
  sim.net.at(100 * MS, () => sim.setSequencers([0, 1, 2]));
  if (cut.endsWith('crashes')) sim.net.at(130 * MS, () => sim.net.crash(sequencerNode(1)));
  sim.net.at(200 * MS, () => sim.net.heal());
  sim.net.runUntil(280 * MS);
  sim.net.faults = { ...sim.net.faults, loss: 0 };
  sim.net.runUntil(330 * MS);
  sim.stopClients();
  sim.net.runUntil(400 * MS);
  return sim;
}

for (const cut of ['from the service', 'from everyone', 'from the service, sequencer 1 crashes'] as Cut[]) {
  test(`a receiver cut off ${cut} while configurations change gets no healthy sequencer removed`, () => {
    const crash = cut.endsWith('crashes');
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const sim = runBehind(seed, cut);
      const changes = sim.reconfigurations.map((r) => `${r.kind}:${r.sequencer}`);
      assert.deepEqual(changes, crash ? ['remove:2', 'add:2', 'remove:1'] : ['remove:2', 'add:2'], `seed ${seed}`);
      assert.deepEqual(checkHydraHistories(histories(sim), true), [], `seed ${seed}`);
      assert.deepEqual(undelivered(sim, 290 * MS, 320 * MS), [], `seed ${seed}`);
      const current = sim.configService.current.config;
      assert.deepEqual([...sim.installed].filter(([, c]) => c !== current), [], `seed ${seed}: every receiver on configuration ${current}`);
    }
  });
}

/** A hand-driven receiver that heard from both sequencers in configuration 1 (the initial one), at 1 ms. */
function heardFromBoth() {
  const h = harness();
  h.r.start(h.ctx());
  h.at(1000);
  h.r.receive(h.ctx(), flush(1, 0, 1000, 0));
  h.r.receive(h.ctx(), flush(1, 1, 1000, 0));
  return h;
}

test('a receiver that holds messages stamped in a newer configuration counts them as heard, asks for the configuration and suspects nobody', () => {
  const h = heardFromBoth();
  // Then both moved on to configuration 2: a groupcast from 0, a flush from 1, every 10 ms for five failure timeouts.
  for (let t = 10_000; t <= 100_000; t += 10_000) {
    h.at(t);
    h.r.receive(h.ctx(), groupcast(2, 0, t, t / 10_000));
    h.r.receive(h.ctx(), flush(2, 1, t, 0));
    h.sent.length = 0;
    h.r.timer(h.ctx(), 'fd');
    assert.deepEqual(h.sent.map((s) => s.msg.type), configNodes(h.topology).map(() => 'configack'), `at ${t} µs`);
  }
  assert.deepEqual(h.deliveries, []);
});

test('input claiming a configuration the service never reached keeps a receiver from suspecting only until the service answers', () => {
  const h = heardFromBoth();
  // A forged (or garbled) flush from sequencer 1 claims configuration 2^31; sequencer 0 falls silent.
  h.r.receive(h.ctx(), flush(2 ** 31, 1, 2000, 0));
  const fd = (t: number) => {
    h.at(t);
    h.sent.length = 0;
    h.r.timer(h.ctx(), 'fd');
    return h.sent.map((s) => s.msg.type === 'suspect' ? `suspect ${s.msg.sequencer}` : s.msg.type);
  };
  assert.deepEqual(fd(30_000), configNodes(h.topology).map(() => 'configack'), 'behind: asks, suspects nobody');
  // The service answers with its current configuration, ours: the claim proved nothing.
  h.r.receive(h.ctx(), h.topology.initial);
  assert.ok(fd(40_000).includes('suspect 0'), 'sequencer 0, silent past the failure timeout, is suspected again');
});
