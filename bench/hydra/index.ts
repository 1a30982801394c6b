import { findBasePorts } from '../../operator/local/ports.js';
import { receiverNode, sequencerNode } from '../../node/hydra/topology.js';
import type { BenchOptions, BenchResult } from '../support/types.js';
import { measureCapacity } from './capacity.js';
import { simulatedFailover, simulatedScaling } from './simulated.js';
import { type TestbedPoint, runTestbed } from './testbed.js';

const FANOUT = 3;
const PAYLOAD = 64;

/**
 * `switchyard bench hydra`, in one run so that a noisy machine skews every figure alike:
 * 1. raw capacity: a bare UDP forwarder and the Hydra sequencer, each saturated by the same
 *    generator and multicasting to the same fan-out;
 * 2. whole testbeds on loopback with 1, 2 and 4 sequencers: peak ordered/s, then ordering
 *    delay at half of that peak;
 * 3. simulated capacity: throughput against the number of sequencers with a per-sequencer
 *    packet budget, and the cost of a sequencer failure, single sequencer vs Hydra.
 */
export async function benchHydra(opts: BenchOptions, log: (line: string) => void): Promise<BenchResult> {
  const seconds = opts.seconds ?? 4;
  const ports = await findBasePorts([sequencerNode(0), ...Array.from({ length: FANOUT }, (_, r) => receiverNode(0, r))], 0);
  log(`raw capacity: bare forwarder vs sequencer, fan-out ${FANOUT}, ${PAYLOAD}-byte payloads, ${seconds}s each`);
  const forwarder = await measureCapacity('forwarder', FANOUT, PAYLOAD, seconds, ports.udp);
  log(`  forwarder ${forwarder.messages_per_s.toFixed(0)} msg/s`);
  const sequencer = await measureCapacity('sequencer', FANOUT, PAYLOAD, seconds, ports.udp);
  log(`  sequencer ${sequencer.messages_per_s.toFixed(0)} msg/s`);

  const testbeds: { peak: TestbedPoint; half: TestbedPoint }[] = [];
  for (const n of [1, 2, 4]) {
    log(`testbed with ${n} sequencer(s): peak, then half load`);
    const peak = await runTestbed(n, 40_000, seconds);
    const half = await runTestbed(n, Math.max(100, Math.round(peak.ordered_per_s / 2)), seconds);
    log(`  peak ${peak.ordered_per_s.toFixed(0)}/s; at ${half.offered_per_s}/s delay p50 ${(half.delay_p50_s ?? NaN) * 1e3} ms`);
    testbeds.push({ peak, half });
  }

  log('simulated capacity (100k msg/s budget per sequencer)');
  const scaling = [1, 2, 4, 8].map((n) => simulatedScaling(n, 0.9 * n * 100_000));
  const overload = simulatedScaling(1, 0.9 * 4 * 100_000);
  const failover = [simulatedFailover('single-sequencer', 200), simulatedFailover('hydra', 200)];

  const ratio = sequencer.messages_per_s / forwarder.messages_per_s;
  const worstHalfDelay = Math.max(...testbeds.map((t) => t.half.delay_p50_s ?? Infinity));
  const json = {
    ratio_sequencer_to_forwarder: ratio,
    // The worst over 1, 2 and 4 sequencers: with one sequencer nothing ever waits for another.
    delay_p50_s_at_half_load: worstHalfDelay,
    raw_capacity: { fanout: FANOUT, payload_bytes: PAYLOAD, forwarder, sequencer },
    testbeds: testbeds.map((t) => ({ sequencers: t.peak.sequencers, peak: t.peak, half_load: t.half })),
    simulated: { budget_per_sequencer_per_s: 100_000, scaling, single_sequencer_at_4x_load: overload, failover },
    targets: {
      sequencer_at_least_70pct_of_forwarder: ratio >= 0.7,
      delay_p50_below_1ms_at_half_load: worstHalfDelay < 1e-3,
    },
  };
  const ms = (s: number | null) => (s === null ? '—' : `${(s * 1e3).toFixed(3)} ms`);
  const tables = [
    ['Raw capacity (messages/s, fan-out 3)', ['device', 'messages/s'], [
      ['bare UDP forwarder', forwarder.messages_per_s.toFixed(0)],
      ['Hydra sequencer', sequencer.messages_per_s.toFixed(0)],
      ['ratio', ratio.toFixed(3)],
    ]],
    ['Testbeds on loopback (every member a process, 2 cores)', ['sequencers', 'peak ordered/s', 'half-load offered/s', 'delay p50', 'delay p99', 'send→deliver p50'],
      testbeds.map((t) => [String(t.peak.sequencers), t.peak.ordered_per_s.toFixed(0), String(t.half.offered_per_s), ms(t.half.delay_p50_s), ms(t.half.delay_p99_s), ms(t.half.end_to_end_p50_s)])],
    ['Simulated scaling (100k msg/s per sequencer, offered 90% of total budget)', ['sequencers', 'offered/s', 'ordered/s', 'send→deliver p50'],
      [...scaling, overload].map((p) => [String(p.sequencers), p.offered_per_s.toFixed(0), p.ordered_per_s.toFixed(0), ms(p.delay_p50_s)])],
    ['Simulated sequencer failure (20 ms detection, 200 ms network reroute)', ['design', 'delivery outage', 'messages lost'],
      failover.map((f) => [f.design, ms(f.outage_s), String(f.messages_lost)])],
  ] as [string, string[], string[][]][];
  return { name: 'hydra', json, tables };
}
