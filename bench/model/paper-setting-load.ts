/** A closed-loop run's load point: what completed in a measurement window. */
export interface LoadPoint {
  clients: number;
  ops_per_s: number;
  p50_us: number;
  p99_us: number;
  /** Operations the point rests on. */
  ops: number;
}

/** Virtual µs before the window (start-up, first requests) and the window itself. */
export interface Window {
  warmUs: number;
  lengthUs: number;
}

/** The operations that returned within the window: their rate and latency quantiles. */
export function loadPoint(ops: readonly { call: number; ret: number }[], clients: number, w: Window): LoadPoint {
  const end = w.warmUs + w.lengthUs;
  const lat = ops.filter((o) => o.ret >= w.warmUs && o.ret < end).map((o) => o.ret - o.call).sort((a, b) => a - b);
  const q = (f: number) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))] ?? NaN;
  return { clients, ops_per_s: lat.length / (w.lengthUs / 1e6), p50_us: q(0.5), p99_us: q(0.99), ops: lat.length };
}
