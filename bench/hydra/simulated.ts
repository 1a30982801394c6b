import { HydraSim, defaultSimOptions } from '../../node/hydra/simulation.js';
import { clientNode, receiverNode, sequencerNode } from '../../node/hydra/topology.js';

/**
 * The simulated-capacity mode: the same cores in the deterministic network, where each
 * sequencer has a packet budget (a switch pipeline's rate, scaled down) and links have
 * latency, so scaling with the number of sequencers shows without this machine's two cores
 * being the limit.
 */
export interface SimulatedScalingPoint {
  sequencers: number;
  offered_per_s: number;
  ordered_per_s: number;
  delay_p50_s: number;
}

const BUDGET_US = 10; // 100k messages/s per sequencer
const MS = 1000;

export function simulatedScaling(sequencers: number, offeredPerS: number, seed = 1): SimulatedScalingPoint {
  const clients = 16;
  const sim = new HydraSim({
    ...defaultSimOptions, seed, sequencers, groups: 1, receiversPerGroup: 3, clients, rate: offeredPerS / clients,
    multiGroupShare: 0, aggregator: true, faults: { delayUs: 5, jitterUs: 2 },
  });
  for (let k = 0; k < sequencers; k++) sim.net.setCapacity(sequencerNode(k), { serviceUs: BUDGET_US, queueLimit: 256 });
  const warm = 20 * MS;
  const end = 70 * MS;
  sim.net.runUntil(end);
  const log = sim.logs.get(receiverNode(0, 0))!;
  const delays: number[] = [];
  let ordered = 0;
  log.deliveries.forEach((d, i) => {
    const t = log.times[i]!;
    if (d.kind !== 'message' || t < warm) return;
    ordered++;
    delays.push(t - d.msg.sentAt);
  });
  delays.sort((a, b) => a - b);
  return {
    sequencers,
    offered_per_s: offeredPerS,
    ordered_per_s: ordered / ((end - warm) / 1e6),
    delay_p50_s: (delays[Math.floor(delays.length / 2)] ?? 0) / 1e6,
  };
}

export interface FailoverResult {
  design: string;
  /** Longest time with no delivery at a receiver around the failure. */
  outage_s: number;
  /** Messages sent during the run that no receiver ever delivered. */
  messages_lost: number;
}

/**
 * Sequencer failure: a single sequencer whose replacement needs the network's forwarding to be
 * reconfigured (`rerouteMs`, >200 ms in the paper's motivation) against Hydra with four
 * sequencers, where the survivors keep ordering and the failed one is reconfigured away.
 */
export function simulatedFailover(design: 'single-sequencer' | 'hydra', rerouteMs: number, seed = 1): FailoverResult {
  const sequencers = design === 'hydra' ? 4 : 1;
  const failure = 20 * MS;
  const sim = new HydraSim({
    ...defaultSimOptions, seed, sequencers, groups: 1, receiversPerGroup: 3, clients: 4, rate: 5000, multiGroupShare: 0,
    failureTimeoutUs: failure, faults: { delayUs: 5, jitterUs: 2 },
  });
  const crashAt = 100 * MS;
  sim.net.at(crashAt, () => sim.net.crash(sequencerNode(0)));
  if (design === 'single-sequencer') {
    // A standby takes over once detection and the network's reroute are done.
    sim.net.at(crashAt + failure + rerouteMs * MS, () => {
      sim.addSequencer(1);
      sim.setSequencers([1]);
    });
  }
  sim.net.runUntil(crashAt + failure + rerouteMs * MS + 200 * MS);
  for (let c = 0; c < 4; c++) sim.net.crash(clientNode(c));
  sim.net.runFor(100 * MS);
  const log = sim.logs.get(receiverNode(0, 0))!;
  let outage = 0;
  for (let i = 1; i < log.times.length; i++) {
    if (log.times[i]! > crashAt - 10 * MS) outage = Math.max(outage, log.times[i]! - log.times[i - 1]!);
  }
  const delivered = new Set(log.deliveries.flatMap((d) => (d.kind === 'message' ? [`${d.msg.client}:${d.msg.msgId}`] : [])));
  const lost = sim.sent.filter((s) => !delivered.has(`${s.client}:${s.msgId}`)).length;
  return { design, outage_s: outage / 1e6, messages_lost: lost };
}
