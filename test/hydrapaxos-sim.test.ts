import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvModel } from '../node/check/kv-model.js';
import { checkLinearizable } from '../node/check/linearizability.js';
import { LOSSY, PROFILES, liveStores, runProfile } from './support/hydra-app-profiles.js';
import { encodeKvRequest } from '../node/apps/kv.js';
import { hydraPaxosCodec } from '../node/hydrapaxos/codec.js';
import { HydraPaxosSim, defaultPaxosSimOptions } from '../node/hydrapaxos/simulation.js';
import { sequencerNode } from '../node/hydra/topology.js';
import { restartProblems } from './support/client-restart.js';

const SEEDS = process.env.PAXOS_SEED ? [Number(process.env.PAXOS_SEED)] : Array.from({ length: 210 }, (_, i) => i + 1);

function run(seed: number, extra: Partial<Parameters<typeof runProfile>[1]> = {}) {
  return runProfile(seed, { groups: seed % 2 === 0 ? 2 : 1, ...extra });
}

test(`HydraPaxos stays linearizable and live over ${SEEDS.length} seeds: loss, duplication, reordering, replica crash and restart, leader failure, sequencer removal and addition`, () => {
  const failures: string[] = [];
  const totals = { viewChanges: 0, stateTransfers: 0, noops: 0, completed: 0 };
  for (const seed of SEEDS) {
    const { sim, profile, groups } = run(seed);
    const problems: string[] = [];
    const lin = checkLinearizable(kvModel, sim.fullHistory());
    if (!lin.linearizable) problems.push(`not linearizable: ${lin.counterexample?.slice(0, 4).join(' | ')}`);
    const want = sim.o.clients * sim.o.requestsPerClient;
    if (sim.history.length !== want) problems.push(`${sim.history.length}/${want} operations completed`);
    // Live replicas of a group converge on the same store once the network is quiet.
    for (let g = 0; g < groups; g++) {
      if (new Set(liveStores(sim, g)).size > 1) problems.push(`group ${g}: replicas hold different stores`);
    }
    totals.viewChanges += sim.counters.viewChanges;
    totals.stateTransfers += sim.counters.stateTransfers;
    totals.noops += sim.counters.noops;
    totals.completed += sim.history.length;
    if (problems.length) failures.push(`seed ${seed} (${profile}, ${groups} groups): ${problems.join('; ')} — replay: PAXOS_SEED=${seed} npm test -- hydrapaxos-sim`);
  }
  assert.deepEqual(failures, []);
  if (!process.env.PAXOS_SEED) {
    assert.ok(totals.viewChanges > 0, 'view changes were exercised');
    assert.ok(totals.stateTransfers > 0, 'state transfer was exercised');
  }
});

test('a seed replays exactly', () => {
  const a = run(7);
  const b = run(7);
  assert.deepEqual(a.sim.history, b.sim.history);
  assert.deepEqual(a.sim.viewChanges, b.sim.viewChanges);
});

test('the checker catches a broken variant (local NO-OPs for drops, results taken without the leader)', () => {
  let caught = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const { sim } = run(seed * PROFILES.length, { unsafe: true, faults: { ...LOSSY, loss: 0.08 } });
    if (!checkLinearizable(kvModel, sim.fullHistory()).linearizable) caught++;
  }
  assert.ok(caught > 0, 'no broken run was caught');
});

test('a HydraPaxos client that crashes and restarts with empty state completes its requests again (request ids never repeat), 12 seeds', () => {
  const failures: string[] = [];
  for (let seed = 1; seed <= 12; seed++) {
    const { sim, profile, restartAt } = run(seed, { clientRestart: 5 + 3 * seed });
    const problems = restartProblems(sim.history, { clients: sim.o.clients, requests: sim.o.requestsPerClient, restartAt: restartAt! });
    if (!checkLinearizable(kvModel, sim.fullHistory()).linearizable) problems.push('not linearizable');
    if (problems.length) failures.push(`seed ${seed} (${profile}): ${problems.join('; ')}`);
  }
  assert.deepEqual(failures, []);
});

test('a HydraPaxos request in the name of a client the testbed does not have is refused and counted by every replica, executed by none', () => {
  const sim = new HydraPaxosSim({ ...defaultPaxosSimOptions, seed: 3, groups: 1, requestsPerClient: 40 });
  const payload = encodeKvRequest({ client: 60_000, requestId: 7, op: { op: 'put', key: 'k0', value: 'forged' } });
  const forged = hydraPaxosCodec.encode({ type: 'client', client: 0, msgId: 1_000_000, groups: 1, sentAt: 0, payload });
  sim.net.at(30_000, () => sim.net.addNode(97, ({ transport }) => ({ start: () => transport.send(sequencerNode(0), forged), stop() {} })));
  sim.net.runUntil(2_000_000);
  assert.equal(sim.history.length, 4 * 40);
  assert.ok(checkLinearizable(kvModel, sim.fullHistory()).linearizable);
  assert.equal(sim.rejections.get('unknown-client'), 3, JSON.stringify([...sim.rejections]));
  assert.ok(liveStores(sim, 0).every((store) => !store.includes('forged')));
});
