/**
 * Repeated rounds for comparisons on a shared machine: every member of every testbed competes
 * for the same cores, and the CPU one op costs drifts by a third from one run to the next (other
 * tenants, the scheduler's placement). Ratios are therefore taken within each round, from runs
 * made back to back, and the median over rounds is reported with every round beside it.
 */

export const DEFAULT_ROUNDS = 3;

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The run whose `value` is the median (the lower middle one for an even count), so a reported point is one real run. */
export function medianRun<T>(runs: T[], value: (t: T) => number): T {
  if (runs.length === 0) throw new Error('no runs');
  return [...runs].sort((a, b) => value(a) - value(b))[(runs.length - 1) >> 1]!;
}

/** Round r's order of the configurations: rotated by one each round, so none always runs first (or right after the heaviest). */
export function rotated<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
