import { clientNode, receiverNode, receiversOf, sequencerNode } from '../../node/hydra/topology.js';
import { InvariantError } from '../../node/protocol/invariant.js';
import { SeededRandom } from '../../node/runtime/random.js';
import { restartClientMidway } from './client-restart.js';
import { HydraPaxosSim, type HydraPaxosSimOptions, defaultPaxosSimOptions } from '../../node/hydrapaxos/simulation.js';

/** The fault profiles the replicated Hydra applications (HydraPaxos, HydraTxn) are simulated under, one per seed in turn. */
export const PROFILES = ['lossy network', 'leader crash', 'replica crash and restart', 'sequencer crash', 'sequencers removed and added',
  'leader crash and restart', 'sequencer crash and restart', 'replica restart after reconfiguration'] as const;
export const LOSSY = { delayUs: 50, jitterUs: 30, loss: 0.03, duplicate: 0.02, reorder: 0.05, reorderWindowUs: 300 };

/**
 * Runs one seed: its profile's faults during 1.5 s of a lossy network, then a quiet network until
 * every client is done. With `blackouts`, a sequencer is also cut off from one shard or from all
 * of them for 1–3 ms every 40 ms, so that whole shards lose messages: one shard of a transaction
 * (recovered from another) or every shard (dropped everywhere). With `clientRestart`, client 0
 * crashes after that many operations and boots again with empty state 20 ms later. A replica's
 * broken invariant throws at the step it breaks, naming the seed.
 */
export function runProfile(seed: number, o: Partial<HydraPaxosSimOptions> & { groups: number; blackouts?: boolean; clientRestart?: number }) {
  const profile = PROFILES[seed % PROFILES.length]!;
  const groups = o.groups;
  const sim = new HydraPaxosSim({ ...defaultPaxosSimOptions, seed, clients: 4, requestsPerClient: 80, faults: LOSSY, ...o });
  const leader = receiverNode(seed % groups, 0);
  const follower = receiverNode(groups - 1, 1 + (seed % 2));
  if (profile === 'leader crash') sim.net.at(300_000, () => sim.net.crash(leader));
  if (profile === 'replica crash and restart') {
    sim.net.at(250_000, () => sim.net.crash(follower));
    sim.net.at(600_000, () => sim.net.restart(follower));
  }
  if (profile === 'leader crash and restart') {
    sim.net.at(250_000, () => sim.net.crash(leader));
    sim.net.at(700_000, () => sim.net.restart(leader));
  }
  if (profile === 'sequencer crash') sim.net.at(300_000, () => sim.net.crash(sequencerNode(seed % 3)));
  if (profile === 'sequencer crash and restart') {
    // Back with empty state (its numbering restarts): a new incarnation, removed then added.
    sim.net.at(300_000, () => sim.net.crash(sequencerNode(seed % 3)));
    sim.net.at(300_000 + 10_000 * (seed % 5), () => sim.net.restart(sequencerNode(seed % 3)));
  }
  if (profile === 'replica restart after reconfiguration') {
    // The restarted replica must learn a configuration other than the initial one and rejoin through state transfer.
    sim.net.at(200_000, () => sim.hydra.setSequencers([0, 2]));
    sim.net.at(300_000, () => sim.hydra.setSequencers([0, 1, 2]));
    sim.net.at(500_000, () => sim.net.crash(seed % 3 === 0 ? leader : follower));
    sim.net.at(520_000 + 20_000 * (seed % 4), () => sim.net.restart(seed % 3 === 0 ? leader : follower));
  }
  if (profile === 'sequencers removed and added') {
    sim.net.at(250_000, () => sim.hydra.setSequencers([0]));
    sim.net.at(600_000, () => sim.hydra.setSequencers([0, 1, 2, 3]));
  }
  const restart = o.clientRestart === undefined ? null : restartClientMidway(sim.net, clientNode(0), sim.history, o.clientRestart, 20_000);
  if (o.blackouts) {
    const rng = new SeededRandom(seed * 31 + 7);
    for (let t = 100_000; t < 1_400_000; t += 40_000) {
      const sequencer = sequencerNode(Math.floor(rng.next() * 3));
      const shard = Math.floor(rng.next() * (groups + 1));
      const cut = (shard === groups ? Array.from({ length: groups }, (_, g) => g) : [shard]).flatMap((g) => receiversOf(sim.hydra.topology, g));
      sim.net.at(t, () => sim.net.partition([sequencer], cut));
      sim.net.at(t + 1000 + Math.floor(rng.next() * 2000), () => sim.net.heal());
    }
  }
  try {
    sim.net.runUntil(1_500_000);
    // Faults stop; every outstanding request must then finish.
    sim.net.faults = { ...sim.net.faults, loss: 0, duplicate: 0, reorder: 0 };
    sim.net.runUntil(4_000_000);
  } catch (e) {
    // A replica's invariant broke at this step: say which seed replays it.
    if (e instanceof InvariantError) throw new Error(`seed ${seed} (${profile}) at ${sim.net.now} µs: ${e.message}`, { cause: e });
    throw e;
  }
  return { sim, profile, groups, restartAt: restart?.restartAt ?? null };
}

/** The stores of a group's live replicas (they must all be equal once the network is quiet). */
export function liveStores(sim: HydraPaxosSim, group: number): string[] {
  return [0, 1, 2].map((r) => receiverNode(group, r)).filter((n) => sim.net.isUp(n)).map((n) => sim.replica(n).state.store);
}

