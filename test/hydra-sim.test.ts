import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHydraHistories } from '../node/hydra/check.js';
import { HydraSim, type HydraSimOptions, defaultSimOptions } from '../node/hydra/simulation.js';
import { AGGREGATOR, receiverNode, sequencerNode } from '../node/hydra/topology.js';
import { histories, undelivered } from './support/hydra-sim.js';

const MS = 1000;

/** Fault profiles rotated across seeds; every seed also varies routing, aggregation and solicitation. */
function scenario(seed: number): { options: HydraSimOptions; crash: boolean; restart: boolean; partition: boolean; name: string } {
  const profile = seed % 7;
  const base: HydraSimOptions = {
    ...defaultSimOptions,
    seed,
    aggregator: seed % 2 === 1,
    routing: seed % 3 === 0 ? 'load-aware' : 'random',
    solicit: seed % 4 === 3 ? 'batched' : 'immediate',
    faults: { delayUs: 30, jitterUs: 20 },
  };
  const faults = {
    0: { loss: 0.02 },
    1: { duplicate: 0.05, reorder: 0.1, reorderWindowUs: 300 },
    2: { reorder: 0.2, reorderWindowUs: 2000, jitterUs: 200 },
    3: { loss: 0.01 },
    4: { loss: 0.005 },
    5: { loss: 0.005, duplicate: 0.02 },
    6: { loss: 0.002 },
  }[profile]!;
  const skew = profile === 3 ? { maxSkewUs: 2000, maxDrift: 1e-4 } : {};
  const names = ['loss', 'dup+reorder', 'heavy reorder', 'skew+drift+loss', 'sequencer crash', 'sequencer crash+restart',
    'sequencer partitioned from receivers'];
  return {
    options: { ...base, ...skew, faults: { ...base.faults, ...faults } },
    crash: profile >= 4,
    restart: profile === 5,
    partition: profile === 6,
    name: names[profile]!,
  };
}

/** Hydra's guarantees over every receiver's histories, delivery of what was sent in [from, to], and no real claim refused. */
function sweepProblems(sim: HydraSim, from: number, to: number): string[] {
  const problems = checkHydraHistories(histories(sim), true);
  const lost = undelivered(sim, from, to);
  if (lost.length > 0) problems.push(`${lost.length} messages sent after faults stopped were not delivered (e.g. ${lost.slice(0, 3).join(', ')})`);
  const refused = sim.rejections.get('beyond-window');
  if (refused) problems.push(`${refused} real sequencer claims refused as beyond the window`);
  return problems;
}

function runSeed(seed: number): { sim: HydraSim; name: string } {
  const { options, crash, restart, partition, name } = scenario(seed);
  const sim = new HydraSim(options);
  if (partition) {
    // Falsely suspected: removed while cut off, admitted again once the partition heals.
    sim.net.at(60 * MS, () => sim.net.partition([100 + (seed % options.sequencers)], [...sim.logs.keys()]));
    sim.net.at(130 * MS, () => sim.net.heal());
  }
  if (crash) sim.net.at(60 * MS, () => sim.net.crash(100 + (seed % options.sequencers)));
  if (restart) sim.net.at(110 * MS, () => sim.net.restart(100 + (seed % options.sequencers)));
  sim.net.runUntil(200 * MS);
  // Faults stop: perfect links from here on.
  sim.net.faults = { ...sim.net.faults, loss: 0, duplicate: 0, reorder: 0, jitterUs: 0 };
  sim.net.runUntil(300 * MS);
  sim.stopClients();
  sim.net.runUntil(400 * MS);
  return { sim, name };
}

const SEEDS = process.env.HYDRA_SEED ? [Number(process.env.HYDRA_SEED)] : Array.from({ length: 240 }, (_, i) => i + 1);

test(`Hydra ordering holds over ${SEEDS.length} seeds of loss, duplication, reordering, skew and sequencer crashes`, () => {
  const failures: string[] = [];
  for (const seed of SEEDS) {
    const { sim, name } = runSeed(seed);
    const problems = sweepProblems(sim, 230 * MS, 290 * MS);
    const delivered = [...sim.logs.values()].reduce((n, l) => n + l.deliveries.length, 0);
    if (delivered < 1000) problems.push(`only ${delivered} deliveries`);
    if (problems.length > 0) {
      failures.push(`seed ${seed} (${name}): ${problems.slice(0, 3).join('; ')} — replay: HYDRA_SEED=${seed} npm test -- hydra-sim`);
    }
  }
  assert.deepEqual(failures, []);
});

test('a seed replays exactly', () => {
  const digest = (seed: number) => {
    const { sim } = runSeed(seed);
    return JSON.stringify([...sim.logs.values()].map((l) => l.deliveries.map((d) =>
      d.kind === 'message' ? [d.msg.sequencer, d.seq, d.msg.clock, d.msg.msgId] : ['drop', d.sequencer, d.seq])));
  };
  assert.equal(digest(5), digest(5));
  assert.equal(digest(4), digest(4));
  assert.notEqual(digest(4), digest(10));
});

test('a crashed sequencer is removed and the receivers resume within the failure-detection bound', () => {
  const { options } = scenario(4);
  const sim = new HydraSim({ ...options, faults: { delayUs: 30, jitterUs: 20 } });
  sim.net.at(60 * MS, () => sim.net.crash(101));
  sim.net.runUntil(200 * MS);
  assert.deepEqual(sim.reconfigurations.map((r) => [r.kind, r.sequencer, r.config]), [['remove', 1, 2]]);
  for (const l of sim.logs.values()) {
    let worst = 0;
    for (let i = 1; i < l.times.length; i++) worst = Math.max(worst, l.times[i]! - l.times[i - 1]!);
    // Detection (timeout plus one check period) and one reconfiguration round trip.
    assert.ok(worst < 1.5 * options.failureTimeoutUs, `receiver ${l.node} stalled ${worst} µs`);
  }
  assert.deepEqual(checkHydraHistories(histories(sim), false), []);
});

test('sequencers are removed and added under load through the configuration service', () => {
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    const sim = new HydraSim({ ...defaultSimOptions, seed, aggregator: seed % 2 === 0, faults: { delayUs: 30, jitterUs: 20, loss: 0.002 } });
    sim.net.at(80 * MS, () => sim.setSequencers([0, 1]));
    sim.net.at(140 * MS, () => sim.addSequencer(3));
    sim.net.at(150 * MS, () => sim.setSequencers([0, 1, 3]));
    sim.net.at(200 * MS, () => sim.setSequencers([0, 1, 2, 3]));
    sim.net.runUntil(300 * MS);
    sim.net.faults = { ...sim.net.faults, loss: 0 };
    sim.net.runUntil(350 * MS);
    sim.stopClients();
    sim.net.runUntil(450 * MS);
    const changes = sim.reconfigurations.map((r) => `${r.kind}:${r.sequencer}`);
    assert.deepEqual(changes.slice(0, 2), ['remove:2', 'add:3'], `seed ${seed}: ${changes}`);
    assert.equal(sim.configService.current.active.map((a) => a.sequencer).join(','), '0,1,2,3', `seed ${seed}: ${changes}`);
    assert.deepEqual(checkHydraHistories(histories(sim), true), [], `seed ${seed}`);
    assert.deepEqual(undelivered(sim, 320 * MS, 340 * MS), [], `seed ${seed}`);
    for (const l of sim.logs.values()) {
      let worst = 0;
      for (let i = 1; i < l.times.length; i++) if (l.times[i]! < 330 * MS) worst = Math.max(worst, l.times[i]! - l.times[i - 1]!);
      assert.ok(worst < defaultSimOptions.failureTimeoutUs, `seed ${seed}: receiver ${l.node} stalled ${worst} µs`);
    }
  }
});

/**
 * One member at a time — a receiver, a sequencer or the aggregator, sometimes twice — crashes
 * and restarts with empty state, over loss or reordering (issue 18).
 */
function restartScenario(seed: number): { options: HydraSimOptions; victim: number; role: string; twice: boolean } {
  const aggregator = seed % 2 === 1;
  const options: HydraSimOptions = {
    ...defaultSimOptions,
    seed,
    aggregator,
    solicit: seed % 4 === 3 ? 'batched' : 'immediate',
    faults: seed % 3 === 0
      ? { delayUs: 30, jitterUs: 20, reorder: 0.1, reorderWindowUs: 500 }
      : { delayUs: 30, jitterUs: 20, loss: 0.005 * (seed % 3) },
  };
  const roles = aggregator ? ['receiver', 'sequencer', 'aggregator'] : ['receiver', 'sequencer'];
  const role = roles[Math.floor(seed / 2) % roles.length]!;
  const victim = role === 'receiver'
    ? receiverNode(seed % options.groups, Math.floor(seed / 7) % options.receiversPerGroup)
    : role === 'sequencer' ? sequencerNode(seed % options.sequencers) : AGGREGATOR;
  return { options, victim, role, twice: seed % 5 === 0 };
}

function runRestartSeed(seed: number): { sim: HydraSim; name: string } {
  const { options, victim, role, twice } = restartScenario(seed);
  const sim = new HydraSim(options);
  const down = (5 + (seed % 7) * 5) * MS;
  if (seed % 4 < 2) {
    // A configuration change first: the restarted member must learn a configuration other than the initial one.
    const others = Array.from({ length: options.sequencers }, (_, k) => k).filter((k) => k !== seed % options.sequencers);
    sim.net.at(15 * MS, () => sim.setSequencers(others));
    sim.net.at(25 * MS, () => sim.setSequencers([...others, seed % options.sequencers]));
  }
  sim.net.at(50 * MS, () => sim.net.crash(victim));
  sim.net.at(50 * MS + down, () => sim.net.restart(victim));
  if (twice) {
    sim.net.at(110 * MS, () => sim.net.crash(victim));
    sim.net.at(115 * MS, () => sim.net.restart(victim));
  }
  sim.net.runUntil(150 * MS);
  sim.net.faults = { ...sim.net.faults, loss: 0, duplicate: 0, reorder: 0, jitterUs: 0 };
  sim.net.runUntil(250 * MS);
  sim.stopClients();
  sim.net.runUntil(320 * MS);
  return { sim, name: `${role} ${victim} down ${down / MS} ms${twice ? ', twice' : ''}` };
}

const RESTART_SEEDS = process.env.HYDRA_RESTART_SEED
  ? [Number(process.env.HYDRA_RESTART_SEED)] : Array.from({ length: 210 }, (_, i) => i + 1);

test(`Hydra rejoins a receiver, a sequencer or the aggregator restarted with empty state over ${RESTART_SEEDS.length} seeds`, () => {
  const failures: string[] = [];
  for (const seed of RESTART_SEEDS) {
    const { sim, name } = runRestartSeed(seed);
    // Progress once faults stop: everything sent then reaches every receiver, the restarted one included.
    const problems = sweepProblems(sim, 180 * MS, 240 * MS);
    if (problems.length > 0) {
      failures.push(`seed ${seed} (${name}): ${problems.slice(0, 3).join('; ')} — replay: HYDRA_RESTART_SEED=${seed} node scripts/run-tests.mjs hydra-sim`);
    }
  }
  assert.deepEqual(failures, []);
});
