import { zipfWeights } from '../../node/capybara/client.js';
import { type WorkloadPoint, type WorkloadRun, runWorkload } from './workload.js';

/**
 * Fig. 8 (2 servers, 100 connections, Zipf 1.2, server 0's connections stepping up ninefold):
 * 2 ms of service per request, so a server serves 500 requests/s. 130 requests/s before the
 * step; after it server 0 is offered 130 × 0.600 × 9 = 702/s (1.4× its capacity) and server 1
 * 130 × 0.400 = 52/s, 754/s in all: 75 % of the pair's 1 000. The hottest connection then sends
 * 130 × 0.278 × 9 = 325/s, 65 % of a server: migration can balance it.
 */
export const FIG8 = { servers: 2, serviceMicros: 2000, connections: 100, zipf: 1.2, rate: 130, factor: 9 } as const;
export const FIG8_MODES = ['capybara', 'reactive', 'lwrr', 'reconnect'] as const;

/** When the step comes in a run of `seconds`, and the load offered after it. */
export function fig8Timing(seconds: number): { stepAt: number; stepInWindow: number; offeredAfterStep: number } {
  // Clients count time from their start, at least the warm-up's second before the window opens
  // (more while the other members start): the step comes at most a quarter into the window.
  const stepAt = 1 + Math.max(1, Math.round(seconds / 4));
  const w8 = zipfWeights(FIG8.connections, FIG8.zipf);
  const stepped = w8.reduce((n, w, i) => n + (i % FIG8.servers === 0 ? w : 0), 0);
  return { stepAt, stepInWindow: stepAt - 1, offeredAfterStep: FIG8.rate * (stepped * FIG8.factor + (1 - stepped)) };
}


/** One Fig. 8 loopback testbed, named `name`, of `seconds` under `mode`. */
export function runFig8(name: string, mode: string, seconds: number, log: (line: string) => void): Promise<WorkloadPoint> {
  const { stepAt, stepInWindow, offeredAfterStep } = fig8Timing(seconds);
  const run: WorkloadRun = {
    figure: 'fig8', workload: 'Fig. 8: step ×9, Zipf 1.2, 2 servers', zipf: FIG8.zipf, mode, seconds, offered: offeredAfterStep,
    spec: { servers: FIG8.servers, serviceMicros: FIG8.serviceMicros },
    load: { clients: 1, connectionsPerClient: FIG8.connections, zipf: FIG8.zipf, ratePerClient: FIG8.rate, step: { atSeconds: stepAt, factor: FIG8.factor } },
  };
  // Throughput is judged after the step: from the timeline's points (each the second before it)
  // in the window's second half and a whole second past the step (a run too short to have one is
  // judged over the whole window, against the offered load averaged over it).
  return runWorkload(name, run, log, (timeline, opsPerS) => {
    const late = timeline.filter((p) => p.t_s > Math.max(seconds / 2, stepInWindow + 0.9));
    return late.length > 0 ? { offered: offeredAfterStep, achieved: late.reduce((n, p) => n + p.ops_per_s, 0) / late.length, points: late }
      : { offered: FIG8.rate * (stepInWindow + (seconds - stepInWindow) * (offeredAfterStep / FIG8.rate)) / seconds, achieved: opsPerS, points: null };
  });
}
