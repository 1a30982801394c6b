import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHydraHistories } from '../node/hydra/check.js';
import { hydraCodec } from '../node/hydra/codec.js';
import { ConfigService } from '../node/hydra/config-service.js';
import { HydraSim, type HydraSimOptions, defaultSimOptions } from '../node/hydra/simulation.js';
import { configNode, sequencerNode } from '../node/hydra/topology.js';
import { SeededRandom } from '../node/runtime/random.js';
import { histories, undelivered } from './support/hydra-sim.js';

const MS = 1000;
const FAULTS_STOP = 200 * MS;

/**
 * Replicas of the configuration service crash and come back with nothing, one at a time (the
 * fault model: at most f down or recovering at once), while Hydra runs under loss or reordering
 * and, by profile, a sequencer crashes, crashes and restarts, or the wanted sequencers change.
 */
interface Scenario {
  options: HydraSimOptions;
  name: string;
  sequencerFault: 'none' | 'crash' | 'restart' | 'resize';
}

function scenario(seed: number): Scenario {
  const profile = seed % 4;
  const links = [
    { loss: 0.01 },
    { loss: 0.005, duplicate: 0.02 },
    { reorder: 0.1, reorderWindowUs: 1000, loss: 0.003 },
    { duplicate: 0.05, reorder: 0.1, reorderWindowUs: 300 },
  ][profile]!;
  const faults: Scenario['sequencerFault'][] = ['none', 'crash', 'restart', 'resize'];
  return {
    options: {
      ...defaultSimOptions, seed, aggregator: seed % 2 === 1, routing: seed % 3 === 0 ? 'load-aware' : 'random',
      solicit: seed % 5 === 4 ? 'batched' : 'immediate', faults: { delayUs: 30, jitterUs: 20, ...links },
    },
    name: `config replicas crash and restart empty or are cut off, ${JSON.stringify(links)}, sequencer ${faults[profile]}`,
    sequencerFault: faults[profile]!,
  };
}

function replicas(sim: HydraSim): (ConfigService | null)[] {
  return Array.from({ length: sim.o.configReplicas }, (_, i) => (sim.net.isUp(configNode(i)) ? sim.core(configNode(i)) as unknown as ConfigService : null));
}

/**
 * Every few tens of ms one replica (the primary half of the time), if all are normal, either
 * crashes and restarts 5–30 ms later with nothing, or (one time in four) is cut off from the
 * other replicas for 5–20 ms while it still reaches every other member: a deposed primary
 * that goes on talking to receivers.
 */
function churnConfigReplicas(sim: HydraSim, seed: number, until: number): { crashes: number; partitions: number } {
  const rng = new SeededRandom(seed * 31 + 7);
  const stats = { crashes: 0, partitions: 0 };
  for (let t = 20 * MS + rng.int(20 * MS); t < until; t += 25 * MS + rng.int(30 * MS)) {
    sim.net.at(t, () => {
      const all = replicas(sim);
      if (all.some((r) => r === null || r.replication.currentStatus !== 'normal')) return;
      const primary = all.findIndex((r) => r!.replication.isPrimary);
      const victim = primary >= 0 && rng.chance(0.5) ? primary : rng.int(all.length);
      if (rng.chance(0.25)) {
        const others = all.map((_, i) => configNode(i)).filter((id) => id !== configNode(victim));
        sim.net.partition([configNode(victim)], others);
        stats.partitions++;
        sim.net.at(sim.net.now + 5 * MS + rng.int(15 * MS), () => sim.net.heal());
        return;
      }
      sim.net.crash(configNode(victim));
      stats.crashes++;
      sim.net.at(sim.net.now + 5 * MS + rng.int(25 * MS), () => sim.net.restart(configNode(victim)));
    });
  }
  return stats;
}

/**
 * Asks for new sequencers as the operator does: again every 20 ms until the service's state has
 * them (the replica that took the command may die before passing it to the primary).
 */
function setSequencers(sim: HydraSim, ids: number[]): void {
  const state = sim.configService.replication.state;
  if (state.desired.join(',') === ids.join(',')) return;
  sim.setSequencers(ids);
  sim.net.at(sim.net.now + 20 * MS, () => setSequencers(sim, ids));
}

function runSeed(seed: number): { sim: HydraSim; s: Scenario; crashes: number; partitions: number; expected: string } {
  const s = scenario(seed);
  const sim = new HydraSim(s.options);
  const churn = churnConfigReplicas(sim, seed, FAULTS_STOP);
  const victim = seed % s.options.sequencers;
  let expected = [0, 1, 2];
  if (s.sequencerFault === 'crash' || s.sequencerFault === 'restart') sim.net.at(60 * MS, () => sim.net.crash(sequencerNode(victim)));
  if (s.sequencerFault === 'crash') expected = expected.filter((k) => k !== victim);
  if (s.sequencerFault === 'restart') sim.net.at(110 * MS, () => sim.net.restart(sequencerNode(victim)));
  if (s.sequencerFault === 'resize') {
    sim.net.at(50 * MS, () => setSequencers(sim, [0, 2]));
    sim.net.at(60 * MS, () => sim.addSequencer(3));
    sim.net.at(120 * MS, () => setSequencers(sim, [0, 2, 3]));
    expected = [0, 2, 3];
  }
  sim.net.runUntil(FAULTS_STOP);
  // Faults stop: perfect links, every replica up.
  sim.net.faults = { ...sim.net.faults, loss: 0, duplicate: 0, reorder: 0, jitterUs: 0 };
  for (let i = 0; i < s.options.configReplicas; i++) sim.net.restart(configNode(i));
  sim.net.runUntil(300 * MS);
  sim.stopClients();
  sim.net.runUntil(400 * MS);
  return { sim, s, crashes: churn.crashes, partitions: churn.partitions, expected: expected.join(',') };
}

/** What must hold once faults stopped: one log, every replica caught up, every receiver on the final configuration. */
function converged(sim: HydraSim, expected: string): string[] {
  const problems: string[] = [];
  const all = replicas(sim);
  const views = new Set(all.map((r) => r?.replication.currentView));
  const commits = new Set(all.map((r) => r?.replication.committed));
  if (all.some((r) => r?.replication.currentStatus !== 'normal') || views.size !== 1 || commits.size !== 1) {
    problems.push(`replicas not converged: ${all.map((r, i) => `config-${i} ${r ? `${r.replication.currentStatus} view ${r.replication.currentView} commit ${r.replication.committed}` : 'down'}`).join('; ')}`);
  }
  const current = sim.configService.current;
  const active = current.active.map((a) => a.sequencer).join(',');
  if (active !== expected) problems.push(`configuration ${current.config} has sequencers ${active}, expected ${expected}`);
  const behind = [...sim.installed].filter(([, c]) => c !== current.config);
  if (behind.length > 0) problems.push(`receivers ${behind.map(([r, c]) => `${r}@${c}`).join(', ')} not on configuration ${current.config}`);
  return problems;
}

const SEEDS = process.env.HYDRA_CONFIG_SEED ? [Number(process.env.HYDRA_CONFIG_SEED)] : Array.from({ length: 200 }, (_, i) => i + 1);

test(`the replicated configuration service keeps Hydra going over ${SEEDS.length} seeds of replicas crashing and restarting empty or cut off`, (t) => {
  const failures: string[] = [];
  let crashes = 0;
  let partitions = 0;
  const events = { 'view-change': 0, recovery: 0, 'first-start': 0, 'state-transfer': 0 };
  for (const seed of SEEDS) {
    const { sim, s, crashes: n, partitions: cut, expected } = runSeed(seed);
    crashes += n;
    partitions += cut;
    for (const [k, v] of Object.entries(sim.replicaEvents)) events[k as keyof typeof events] += v;
    const problems = [...sim.replication.problems];
    problems.push(...checkHydraHistories(histories(sim), true));
    const lost = undelivered(sim, 230 * MS, 290 * MS);
    if (lost.length > 0) problems.push(`${lost.length} messages sent after faults stopped were not delivered (e.g. ${lost.slice(0, 3).join(', ')})`);
    problems.push(...converged(sim, expected));
    if (problems.length > 0) {
      failures.push(`seed ${seed} (${s.name}; ${n} replica crashes, ${cut} cut off): ${problems.slice(0, 3).join('; ')} — replay: HYDRA_CONFIG_SEED=${seed} npm test -- hydra-config-sim`);
    }
  }
  t.diagnostic(`${crashes} replica crashes, ${partitions} cut off from the others; replicas became normal by ${JSON.stringify(events)}`);
  assert.deepEqual(failures, []);
  // The sweep must exercise the replicas: crashes, recoveries and view changes in every seed on average.
  assert.ok(crashes >= 2 * SEEDS.length && partitions >= SEEDS.length / 2, `only ${crashes} replica crashes and ${partitions} cut off over ${SEEDS.length} seeds`);
  assert.ok(events.recovery >= crashes && events['view-change'] >= SEEDS.length, JSON.stringify(events));
});

test('a configuration seed replays exactly', () => {
  const digest = (seed: number) => {
    const { sim } = runSeed(seed);
    return JSON.stringify([sim.reconfigurations.map((r) => [r.kind, r.sequencer, r.config, r.at]),
      [...sim.logs.values()].map((l) => l.deliveries.length)]);
  };
  assert.equal(digest(6), digest(6));
  assert.notEqual(digest(6), digest(7));
});

test('the primary of the configuration service crashes in the middle of a removal: the next primary finishes it', () => {
  const sim = new HydraSim({ ...defaultSimOptions, seed: 3, faults: { delayUs: 30, jitterUs: 20 } });
  sim.net.at(60 * MS, () => sim.net.crash(sequencerNode(1)));
  let crashedPrimary = -1;
  // The first PREPARE to the receivers shows the removal has begun (it is committed): its sender dies at once.
  sim.net.tap = (from, _to, bytes) => {
    if (crashedPrimary >= 0 || from < configNode(0) || from > configNode(2) || hydraCodec.decode(bytes).type !== 'prepare') return;
    crashedPrimary = from - configNode(0);
    sim.net.at(sim.net.now, () => sim.net.crash(from));
  };
  sim.net.runUntil(250 * MS);
  assert.ok(crashedPrimary >= 0, 'the removal never began');
  assert.deepEqual(sim.reconfigurations.map((r) => [r.kind, r.sequencer, r.config]), [['remove', 1, 2]]);
  assert.deepEqual(sim.replication.problems, []);
  assert.deepEqual(checkHydraHistories(histories(sim), false), []);
  // The dead primary restarts with nothing and takes the state from the others.
  sim.net.restart(configNode(crashedPrimary));
  sim.net.runUntil(300 * MS);
  const back = sim.core(configNode(crashedPrimary)) as unknown as ConfigService;
  assert.equal(back.replication.currentStatus, 'normal');
  assert.equal(back.current.config, 2);
  assert.deepEqual(sim.replication.problems, []);
});

test('a replication message from outside the replica group is a counted rejection', () => {
  const rejected: string[] = [];
  const sent: unknown[] = [];
  const sim = new HydraSim({ ...defaultSimOptions, seed: 1 });
  const replica = new ConfigService({
    topology: sim.topology, replica: 1, desired: [0, 1, 2], tickUs: 5000, reportGraceUs: 10_000, addTimeoutUs: 200_000, viewChangeUs: 25_000,
  }, {
    reconfigured() {},
    replication: { applied() {}, adopted() {}, normal() {}, changingView() {}, invariantViolated() {}, rejected: (reason) => rejected.push(reason) },
  });
  const ctx = { now: 0, send: (_to: number, m: unknown) => sent.push(m), multicast: (_to: readonly number[], m: unknown) => sent.push(m), setTimer() {}, cancelTimer() {} };
  replica.receive(ctx, { type: 'vr-prepare-ok', view: 0, op: 1, replica: 9 });
  replica.receive(ctx, { type: 'vr-start-view-change', view: 1, replica: 1 });
  assert.deepEqual(rejected, ['unknown-replica', 'unknown-replica']);
  assert.deepEqual(sent, []);
});
