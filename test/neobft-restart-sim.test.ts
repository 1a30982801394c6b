import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvModel } from '../node/check/kv-model.js';
import { checkLinearizable } from '../node/check/linearizability.js';
import { NeoSim } from '../node/neobft/simulation.js';
import { replicaNode, sequencerOfEpoch } from '../node/neobft/topology.js';
import { neoDivergence } from './support/neobft-divergence.js';
import { mostCommon, restartWithEmptyState } from './support/restart-sweep.js';

const SEEDS = process.env.NEO_SEED ? [Number(process.env.NEO_SEED)] : Array.from({ length: 200 }, (_, i) => i + 1);
const CLIENTS = 3;
const REQUESTS = 80;

/**
 * Issue 18: a member restarted by Kubernetes comes back with empty state. Per seed, under loss,
 * duplication and reordering: a replica (seed % 4 = 0: whichever leads the view then), once or
 * twice (every third seed), or the sequencer ordering the current epoch, crashes and boots
 * again with nothing. Once faults stop every request completes, the history is linearizable,
 * no two replicas hold different entries in a slot or different states after equal logs, and
 * a restarted replica is back in the others' view with their final prefix.
 */
test(`NeoBFT: a replica (the leader too) or the AOM sequencer restarting with empty state, once or twice, under loss and reordering, over ${SEEDS.length} seeds`, (t) => {
  const failures: string[] = [];
  const tally = { replica: 0, leader: 0, sequencer: 0, twice: 0, stateTransfers: 0 };
  for (const seed of SEEDS) {
    const kind = seed % 4 === 0 ? 'leader' : seed % 4 === 1 ? 'sequencer' : 'replica';
    const times = seed % 3 === 0 ? 2 : 1;
    const scheme = seed % 2 === 0 ? 'pk' : 'hm';
    const sim = new NeoSim({
      seed, f: 1, scheme, clients: CLIENTS, requestsPerClient: REQUESTS, byzantineNetwork: seed % 5 === 0,
      faults: { delayUs: 50, jitterUs: 30, loss: 0.02, duplicate: 0.02, reorder: 0.05, reorderWindowUs: 300 },
    });
    let victim = -1;
    const pick = () => {
      const view = mostCommon(sim.replicas.map((r) => r.currentView), (v) => `${v.epoch}/${v.leader}`);
      if (kind === 'sequencer') return sequencerOfEpoch(view.epoch, 2);
      victim = kind === 'leader' ? view.leader % 4 : 1 + (seed % 3);
      return replicaNode(victim);
    };
    restartWithEmptyState(sim.net, { pick, firstAt: 40_000 + (seed % 7) * 15_000, downUs: 5_000 + (seed % 5) * 10_000, times, gapUs: 100_000 });
    sim.net.runUntil(1_000_000);
    sim.net.faults = { ...sim.net.faults, loss: 0, duplicate: 0, reorder: 0 };
    sim.net.runUntil(3_500_000);
    tally[kind]++;
    if (times === 2) tally.twice++;
    tally.stateTransfers += sim.counters.stateTransfers;
    const problems: string[] = [];
    const lin = checkLinearizable(kvModel, sim.fullHistory());
    if (!lin.linearizable) problems.push('not linearizable');
    const d = neoDivergence(sim.replicas);
    if (d) problems.push(d);
    if (sim.history.length !== CLIENTS * REQUESTS) problems.push(`${sim.history.length}/${CLIENTS * REQUESTS} completed`);
    if (victim >= 0) {
      const back = sim.replicas[victim]!;
      const other = sim.replicas[(victim + 1) % 4]!;
      const [bv, ov] = [back.currentView, other.currentView];
      if (bv.epoch !== ov.epoch || bv.leader !== ov.leader) problems.push(`restarted replica ${victim} in view ${bv.epoch}/${bv.leader}, the others in ${ov.epoch}/${ov.leader}`);
      if (back.executedSlots < other.finalSlot) problems.push(`restarted replica ${victim} executed ${back.executedSlots} slots, the others' final point is ${other.finalSlot}`);
    }
    if (problems.length) failures.push(`seed ${seed} (${scheme}, ${kind} restarted ${times}×): ${problems.join('; ')} — replay: NEO_SEED=${seed} node scripts/run-tests.mjs neobft-restart-sim`);
  }
  t.diagnostic(`restarted: ${tally.replica} replicas, ${tally.leader} leaders, ${tally.sequencer} sequencers (${tally.twice} runs twice); ${tally.stateTransfers} state transfers`);
  assert.deepEqual(failures, []);
});
