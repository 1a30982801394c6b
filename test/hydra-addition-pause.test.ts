import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHydraHistories } from '../node/hydra/check.js';
import type { Config, HydraMsg } from '../node/hydra/messages.js';
import type { Receiver } from '../node/hydra/receiver.js';
import { HydraSim, defaultSimOptions } from '../node/hydra/simulation.js';
import { AGGREGATOR, configNode, receiverNode, sequencerNode } from '../node/hydra/topology.js';
import type { Ctx } from '../node/runtime/core.js';
import { histories, undelivered } from './support/hydra-sim.js';

const MS = 1000;

/**
 * Hydra's addition pauses the receivers of a quorum of every group until the joiner has flushed
 * past what they delivered, and takes the highest such flush as its start frontier t_k. A receiver
 * outside that quorum (PREPARE lost, or the service's address for it stale) went on delivering in
 * the old configuration — and the sequencers already active went on stamping in it, with clocks
 * past t_k, until they installed the new one: that receiver delivered past t_k before it knew of
 * the joiner, whose first messages (ordered from t_k everywhere else) then came too late for it
 * (the member-restart sweep saw it in 9 of 20 overlap seeds). Now every active sequencer pauses
 * for the addition and reports its clock, which t_k covers: nothing stamped in the old
 * configuration lies past t_k, so no receiver can deliver past it without the new configuration.
 */
test('a receiver cut off from the configuration service during an addition never delivers past the joiner\'s start frontier, 4 seeds', () => {
  for (let seed = 1; seed <= 4; seed++) {
    const sim = new HydraSim({ ...defaultSimOptions, seed, aggregator: seed % 2 === 0, faults: { delayUs: 30, jitterUs: 20 } });
    const cut = receiverNode(0, 0);
    // Sequencer 2 is removed, then added again while the service cannot reach `cut` (until shortly
    // after the addition is decided: longer, and `cut` would suspect the sequencers it no longer
    // hears in its configuration).
    sim.net.at(40 * MS, () => sim.setSequencers([0, 1]));
    sim.net.at(150 * MS, () => {
      for (let i = 0; i < 3; i++) sim.net.cutUntil(configNode(i), cut, 175 * MS);
      sim.setSequencers([0, 1, 2]);
    });
    const r = sim.core(cut) as unknown as { install(ctx: Ctx<HydraMsg>, m: Config): void; lastDelivered: { clock: number }; config: number };
    const install = r.install.bind(r);
    const past: string[] = [];
    let added = 0;
    r.install = (ctx, m) => {
      const joiner = m.active.find((a) => a.sequencer === 2 && a.joined > r.config && r.config > 1);
      if (joiner) {
        added++;
        if (r.lastDelivered.clock > joiner.start) past.push(`seed ${seed}: delivered through ${r.lastDelivered.clock} in configuration ${r.config}, past the start frontier ${joiner.start} of sequencer ${joiner.sequencer} (configuration ${m.config})`);
      }
      install(ctx, m);
    };
    sim.net.runUntil(400 * MS);
    sim.stopClients();
    sim.net.runUntil(450 * MS);
    assert.equal(added, 1, `seed ${seed}: the cut-off receiver installed the addition once: ${JSON.stringify(sim.reconfigurations)}`);
    assert.ok((sim.core(cut) as unknown as Receiver).configuration.active.length === 3, `seed ${seed}: sequencer 2 is back`);
    assert.deepEqual(past, []);
    assert.deepEqual(checkHydraHistories(histories(sim), false), [], `seed ${seed}`);
    assert.deepEqual(undelivered(sim, 310 * MS, 390 * MS), [], `seed ${seed}`);
    assert.deepEqual(sim.reconfigurations.map((c) => [c.kind, c.sequencer]), [['remove', 2], ['add', 2]], `seed ${seed}`);
  }
});

/**
 * The sequencers paused for an addition stamp nothing and flush at the clock they reported, so
 * the aggregator's minimum stands still. When it forwarded only an advanced minimum, it passed on
 * nothing of theirs, and an addition that took longer than the failure timeout — a slow joiner, a
 * loaded machine — made receivers suspect them; the next change removed one, the removed one was
 * added back, and that addition paused the other: on a busy real cluster the service removed and
 * re-added sequencers 0 and 1 every few seconds for good, and sequencer 2, wanted too, was never
 * added (the lowest id was always added first). The aggregator's heartbeat (below) forwards
 * their flushes.
 */
test('an addition that outlasts the failure timeout does not make the paused sequencers suspects, 4 seeds', () => {
  for (let seed = 1; seed <= 4; seed++) {
    const sim = new HydraSim({ ...defaultSimOptions, seed, aggregator: true, faults: { delayUs: 30, jitterUs: 20 } });
    // Sequencer 2 is removed, then added again while its flushes cannot reach the receivers for
    // three failure timeouts: the addition waits that long for its start frontier.
    sim.net.at(40 * MS, () => sim.setSequencers([0, 1]));
    sim.net.at(150 * MS, () => {
      for (let g = 0; g < 2; g++) for (let i = 0; i < 3; i++) sim.net.cutUntil(sequencerNode(2), receiverNode(g, i), 150 * MS + 3 * defaultSimOptions.failureTimeoutUs);
      sim.setSequencers([0, 1, 2]);
    });
    sim.net.runUntil(400 * MS);
    sim.stopClients();
    sim.net.runUntil(450 * MS);
    assert.deepEqual(sim.reconfigurations.map((c) => [c.kind, c.sequencer]), [['remove', 2], ['add', 2]], `seed ${seed}`);
    assert.deepEqual(checkHydraHistories(histories(sim), false), [], `seed ${seed}`);
    assert.deepEqual(undelivered(sim, 310 * MS, 390 * MS), [], `seed ${seed}`);
  }
});

/**
 * Before the configuration service admits them, the initial sequencers flush straight to the
 * receivers in configuration 0. On a real cluster the service's replicas can come up seconds
 * after the other pods (they start their first view once f+1 of them hear each other); the
 * receivers took those flushes for a joiner's, suspected every sequencer at the end of the
 * startup grace, and the service's first decisions were to remove all three and add them back.
 */
test('sequencers waiting for a late configuration service to admit them are not suspected, 4 seeds', () => {
  for (let seed = 1; seed <= 4; seed++) {
    const sim = new HydraSim({ ...defaultSimOptions, seed, aggregator: seed % 2 === 0 });
    // Past the startup grace (10 failure timeouts), at a different point of the receivers' suspicion period each seed.
    const late = 12 * defaultSimOptions.failureTimeoutUs + seed * 15 * MS;
    // The service is up only at `late`: until then no member hears from it, nor it from them.
    const members = [...[0, 1, 2].map(sequencerNode), ...[0, 1].flatMap((g) => [0, 1, 2].map((i) => receiverNode(g, i)))];
    for (let i = 0; i < 3; i++) {
      for (const m of members) {
        sim.net.cutUntil(m, configNode(i), late);
        sim.net.cutUntil(configNode(i), m, late);
      }
    }
    sim.net.runUntil(late + 200 * MS);
    sim.stopClients();
    sim.net.runUntil(late + 250 * MS);
    assert.deepEqual(sim.reconfigurations, [], `seed ${seed}`);
    assert.deepEqual(checkHydraHistories(histories(sim), false), [], `seed ${seed}`);
    assert.deepEqual(undelivered(sim, late + 50 * MS, late + 190 * MS), [], `seed ${seed}`);
  }
});

/**
 * The aggregator forwards flushes when the minimum over every sequencer advanced. While one
 * sequencer's flushes do not reach it (its link, a joiner that has not installed its admission
 * yet), the minimum stands still and it passed on nobody's flushes: receivers that got no
 * messages from the others either suspected them all (seen on a loaded real cluster, several
 * sequencers removed at once after an addition). It now forwards the flushes that reached it
 * since its last forward at least every quarter failure timeout.
 */
test('one sequencer whose flushes miss the aggregator does not make the others suspects, 4 seeds', () => {
  for (let seed = 1; seed <= 4; seed++) {
    const sim = new HydraSim({ ...defaultSimOptions, seed, aggregator: true });
    // No client traffic: flushes are the receivers' only news of the sequencers.
    sim.net.at(30 * MS, () => sim.stopClients());
    sim.net.at(60 * MS, () => sim.net.cutUntil(sequencerNode(2), AGGREGATOR, 60 * MS + 3 * defaultSimOptions.failureTimeoutUs));
    sim.net.runUntil(300 * MS);
    assert.deepEqual(sim.reconfigurations.filter((c) => c.sequencer !== 2), [], `seed ${seed}`);
    assert.ok(sim.reconfigurations.some((c) => c.kind === 'remove' && c.sequencer === 2), `seed ${seed}: sequencer 2, unheard, was removed`);
    assert.deepEqual(checkHydraHistories(histories(sim), false), [], `seed ${seed}`);
  }
});
