import type { LoadPoint } from '../model/paper-setting-load.js';
import type { Series } from './figure.js';

/** A measured loopback point: closed-loop clients, every member a process on this machine. */
export interface LoopbackPoint {
  clients: number;
  ops_per_s: number;
  p50_us: number;
  seconds: number;
}

/** A latency-throughput curve: x ops/s, y p50 µs, one point per client count. */
export const curveSeries = (name: string, points: LoadPoint[]): Series =>
  ({ name, source: 'model', points: points.map((p) => ({ x: p.ops_per_s, y: p.p50_us })) });

/** The loopback point of a configuration as a one-point series (none if it was not run). */
export const loopbackSeries = (name: string, p: LoopbackPoint | undefined): Series[] =>
  (p ? [{ name: `${name}, ${p.clients} clients`, source: 'loopback', points: [{ x: p.ops_per_s, y: p.p50_us }] }] : []);

/** The highest throughput over a sweep. */
export const peak = (points: LoadPoint[]): number => Math.max(...points.map((p) => p.ops_per_s));

/** The point at `clients` clients (undefined if the sweep has none). */
export const atClients = (points: LoadPoint[], clients: number): LoadPoint | undefined => points.find((p) => p.clients === clients);

export const kops = (x: number) => `${(x / 1e3).toFixed(1)}K ops/s`;

/**
 * Configuration A against B, model and loopback: throughput is peak over the client sweep (the
 * papers' peak throughput); p50 with the fewest clients (the papers' unloaded latency) and at
 * `clients`, the loopback run's count (like with like). Null where a side was not run.
 */
export function compareCurves(a: LoadPoint[], b: LoadPoint[], la: LoopbackPoint | undefined, lb: LoopbackPoint | undefined, clients: number) {
  const p50At = (c: number) => {
    const [x, y] = [atClients(a, c), atClients(b, c)];
    return x && y ? x.p50_us / y.p50_us : null;
  };
  return {
    clients,
    throughput: peak(a) / peak(b),
    p50: p50At(Math.min(...a.map((p) => p.clients))),
    p50AtLoopbackClients: p50At(clients),
    loopbackThroughput: la && lb ? la.ops_per_s / lb.ops_per_s : null,
    loopbackP50: la && lb ? la.p50_us / lb.p50_us : null,
  };
}

export type Compared = ReturnType<typeof compareCurves>;

/** The JSON fields of a comparison: e.g. `ratio_throughput_${throughput}` from `t`, `ratio_p50_latency_${latency}` from `l`, each beside `loopback_…`. */
export function ratioFields(throughput: string, latency: string, t: Compared, l: Compared): Record<string, number | null> {
  return {
    [`ratio_throughput_${throughput}`]: t.throughput,
    [`loopback_ratio_throughput_${throughput}`]: t.loopbackThroughput,
    [`ratio_p50_latency_${latency}`]: l.p50,
    [`loopback_ratio_p50_latency_${latency}`]: l.loopbackP50,
    [`ratio_p50_latency_${latency}_at_${l.clients}_clients`]: l.p50AtLoopbackClients,
  };
}

export const times = (x: number | null) => (x === null ? 'not run' : `${x.toFixed(2)}×`);
