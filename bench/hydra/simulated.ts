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
/** Each simulated sequencer's packet budget. */
export const SIM_BUDGET_PER_SEQUENCER_PER_S = 1e6 / BUDGET_US;
const MS = 1000;

export function simulatedScaling(sequencers: number, offeredPerS: number, seed = 1): SimulatedScalingPoint {
  return simulatedScalingRun(sequencers, offeredPerS, seed).point;
}

/** `simulatedScaling` with every message's send→deliver delay (s, sorted) after the warm-up. */
export function simulatedScalingRun(sequencers: number, offeredPerS: number, seed = 1): { point: SimulatedScalingPoint; delays_s: number[] } {
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
  log.deliveries.forEach((d, i) => {
    const t = log.times[i]!;
    if (d.kind !== 'message' || t < warm) return;
    delays.push((t - d.msg.sentAt) / 1e6);
  });
  delays.sort((a, b) => a - b);
  const point = {
    sequencers,
    offered_per_s: offeredPerS,
    ordered_per_s: delays.length / ((end - warm) / 1e6),
    delay_p50_s: delays[Math.floor(delays.length / 2)] ?? 0,
  };
  return { point, delays_s: delays };
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
  return simulatedFailoverRun(design, rerouteMs, seed).result;
}

/** A failover run's timeline: receiver 0's delivery times (s), the crash, and when the clients stopped. */
export interface FailoverTimeline {
  result: FailoverResult;
  deliveries_s: number[];
  crash_at_s: number;
  detected_at_s: number;
  clients_stop_s: number;
  sequencers: number;
  offered_per_s: number;
}

export function simulatedFailoverRun(design: 'single-sequencer' | 'hydra', rerouteMs: number, seed = 1): FailoverTimeline {
  const sequencers = design === 'hydra' ? 4 : 1;
  const failure = 20 * MS;
  const clients = 4;
  const rate = 5000;
  const sim = new HydraSim({
    ...defaultSimOptions, seed, sequencers, groups: 1, receiversPerGroup: 3, clients, rate, multiGroupShare: 0,
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
  const clientsStop = crashAt + failure + rerouteMs * MS + 200 * MS;
  sim.net.runUntil(clientsStop);
  for (let c = 0; c < clients; c++) sim.net.crash(clientNode(c));
  sim.net.runFor(100 * MS);
  const log = sim.logs.get(receiverNode(0, 0))!;
  let outage = 0;
  for (let i = 1; i < log.times.length; i++) {
    if (log.times[i]! > crashAt - 10 * MS) outage = Math.max(outage, log.times[i]! - log.times[i - 1]!);
  }
  const delivered = new Set(log.deliveries.flatMap((d) => (d.kind === 'message' ? [`${d.msg.client}:${d.msg.msgId}`] : [])));
  const lost = sim.sent.filter((s) => !delivered.has(`${s.client}:${s.msgId}`)).length;
  const deliveries = log.deliveries.flatMap((d, i) => (d.kind === 'message' ? [log.times[i]! / 1e6] : []));
  return {
    result: { design, outage_s: outage / 1e6, messages_lost: lost },
    deliveries_s: deliveries, crash_at_s: crashAt / 1e6, detected_at_s: (crashAt + failure) / 1e6, clients_stop_s: clientsStop / 1e6,
    sequencers, offered_per_s: clients * rate,
  };
}
