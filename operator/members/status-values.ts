import { type Sample, hasMetric, total } from './exposition.js';
import type { MemberReading } from './progress.js';

/**
 * The protocol's status numbers (field → metric) as the given members report them: each field
 * takes the value held by a majority of `members` (a lone member's value is its own). A member
 * that restarted and lags (a NeoBFT replica back at epoch 1 while the others are at 4) does not
 * decide it; with no majority, or no member answering, the field is left out.
 */
export function agreedValues(metrics: Record<string, string>, members: string[], readings: Map<string, MemberReading>): Record<string, number> {
  const out: Record<string, number> = {};
  const answered = members.map((m) => readings.get(m)).filter((r): r is Sample[] => Array.isArray(r));
  for (const [field, metric] of Object.entries(metrics)) {
    const votes = new Map<number, number>();
    for (const samples of answered) {
      if (!hasMetric(samples, metric)) continue;
      const v = total(samples, metric);
      votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    for (const [value, n] of votes) if (2 * n > members.length) out[field] = value;
  }
  return out;
}
