/** Turns raw samples into the points a figure draws. */

/** The empirical CDF of sorted values as at most `maxPoints` (x = value, y = fraction ≤ x) points. */
export function cdfPoints(sorted: number[], maxPoints = 200): { x: number; y: number }[] {
  const n = sorted.length;
  if (n === 0) return [];
  const step = Math.max(1, Math.floor(n / maxPoints));
  const points: { x: number; y: number }[] = [];
  for (let i = 0; i < n; i += step) points.push({ x: sorted[i]!, y: (i + 1) / n });
  if (points.at(-1)!.y < 1) points.push({ x: sorted[n - 1]!, y: 1 });
  return points;
}

/** Events per second in consecutive buckets of `bucketS` over [from, to): x = bucket start. */
export function ratePoints(times: number[], bucketS: number, from: number, to: number): { x: number; y: number }[] {
  const buckets = Math.ceil((to - from) / bucketS - 1e-9);
  const counts = new Array<number>(buckets).fill(0);
  for (const t of times) {
    const b = Math.floor((t - from) / bucketS);
    if (b >= 0 && b < buckets) counts[b]!++;
  }
  return counts.map((c, b) => ({ x: from + b * bucketS, y: c / bucketS }));
}

/**
 * Per-interval samples (each taken at `t`, covering the time since the one before, the first
 * since 0) as step points: x = the interval's start, and a closing point at the last sample's time.
 */
export function intervalPoints(samples: { t: number; y: number | null }[]): { x: number; y: number }[] {
  const points: { x: number; y: number }[] = [];
  samples.forEach((s, i) => {
    if (s.y !== null) points.push({ x: i === 0 ? 0 : samples[i - 1]!.t, y: s.y });
  });
  const last = samples.at(-1);
  if (last && last.y !== null) points.push({ x: last.t, y: last.y });
  return points;
}
