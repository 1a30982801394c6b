import { CLIENT_METRICS } from '../../node/runtime/metrics.js';
import type { Snapshot } from './scrape.js';

export const fmtSeconds = (s: number | null) =>
  s === null ? '—' : s < 1e-3 ? `${(s * 1e6).toFixed(0)}µs` : s < 1 ? `${(s * 1e3).toFixed(2)}ms` : `${s.toFixed(2)}s`;

export const fmtCount = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));

/** `key value, key value` of counts by label, or `none` when there are none. */
export const fmtCounts = (byLabel: Record<string, number>, none = 'none') =>
  Object.entries(byLabel).map(([k, v]) => `${k} ${fmtCount(v)}`).join(', ') || none;

/** A counter's rate between two scrapes, per second. */
export const rate = (now: Snapshot, prev: Snapshot, name: string) => {
  const dt = (now.at - prev.at) / 1000;
  return dt > 0 ? (now.sum(name) - prev.sum(name)) / dt : 0;
};

/** Operations the clients completed (every system's clients observe this histogram once per operation). */
export const clientOperations = (s: Snapshot) => s.histogram(CLIENT_METRICS.requestSeconds).count;

/** The clients' latency between two scrapes. */
export const clientLatency = (now: Snapshot, prev: Snapshot) => now.histogram(CLIENT_METRICS.requestSeconds).since(prev.histogram(CLIENT_METRICS.requestSeconds));
