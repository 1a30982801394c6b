import type { Registry } from 'prom-client';
import type { MemberAccess } from './access.js';

export type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

/** Metrics of every member at one instant, as served on `/metrics.json` by prom-client. */
export class Snapshot {
  /** `answered`: the members that answered this scrape (the rest are remembered values). */
  constructor(readonly at: number, private readonly byMember: Map<string, MetricJson[]>, readonly answered: ReadonlySet<string> = new Set(byMember.keys())) {}

  /** How many members answered this scrape. */
  get answering(): number {
    return this.answered.size;
  }

  /** What `member` answered to this scrape, or undefined when it did not. */
  fresh(member: string): MetricJson[] | undefined {
    return this.answered.has(member) ? this.byMember.get(member) : undefined;
  }

  /** Sum of a counter or gauge over members (optionally only those matching `memberPrefix`) and label filter. */
  sum(name: string, labels: Record<string, string> = {}, memberPrefix = ''): number {
    let total = 0;
    for (const [member, metrics] of this.byMember) {
      if (!member.startsWith(memberPrefix)) continue;
      const m = metrics.find((x) => x.name === name);
      if (!m) continue;
      for (const v of m.values) {
        if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) total += v.value;
      }
    }
    return total;
  }

  /** Whether any member exports the metric (tells which protocol a testbed runs). */
  has(name: string): boolean {
    return [...this.byMember.values()].some((metrics) => metrics.some((x) => x.name === name));
  }

  /** Max of a gauge over members. */
  max(name: string, memberPrefix = ''): number {
    let best = 0;
    for (const [member, metrics] of this.byMember) {
      if (!member.startsWith(memberPrefix)) continue;
      const m = metrics.find((x) => x.name === name);
      for (const v of m?.values ?? []) best = Math.max(best, v.value);
    }
    return best;
  }

  /** A counter or gauge per member (summed over its labels and incarnations); members without it are left out. */
  perMember(name: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const [entry, metrics] of this.byMember) {
      const m = metrics.find((x) => x.name === name);
      if (m) out.set(memberOf(entry), (out.get(memberOf(entry)) ?? 0) + m.values.reduce((a, v) => a + v.value, 0));
    }
    return out;
  }

  /**
   * Values of a counter summed per value of one label; values still at zero everywhere are left
   * out (members start the label values they know at 0, for the dashboards).
   */
  byLabel(name: string, label: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const metrics of this.byMember.values()) {
      const m = metrics.find((x) => x.name === name);
      for (const v of m?.values ?? []) {
        const key = String(v.labels[label]);
        out.set(key, (out.get(key) ?? 0) + v.value);
      }
    }
    for (const [key, n] of out) if (n === 0) out.delete(key);
    return out;
  }

  /** A histogram merged over members (and over label values not fixed by `labels`): cumulative counts per upper bound. */
  histogram(name: string, labels: Record<string, string> = {}): Histogram {
    const buckets = new Map<number, number>();
    for (const metrics of this.byMember.values()) {
      const m = metrics.find((x) => x.name === name);
      for (const v of m?.values ?? []) {
        if ((v as { metricName?: string }).metricName !== `${name}_bucket`) continue;
        if (!Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) continue;
        const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
        buckets.set(le, (buckets.get(le) ?? 0) + v.value);
      }
    }
    return new Histogram([...buckets.entries()].sort((a, b) => a[0] - b[0]));
  }
}

export class Histogram {
  constructor(readonly cumulative: [number, number][]) {}

  get count(): number {
    return this.cumulative.at(-1)?.[1] ?? 0;
  }

  /** Counts observed since `earlier` (a snapshot of the same histogram). */
  since(earlier: Histogram): Histogram {
    const before = new Map(earlier.cumulative);
    return new Histogram(this.cumulative.map(([le, n]) => [le, n - (before.get(le) ?? 0)]));
  }

  /** Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank. */
  quantile(q: number): number | null {
    const total = this.count;
    if (total === 0) return null;
    const rank = q * total;
    let prevLe = 0;
    let prevCount = 0;
    for (const [le, n] of this.cumulative) {
      if (n >= rank) {
        if (le === Infinity) return prevLe;
        const inBucket = n - prevCount;
        return inBucket === 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket;
      }
      prevLe = le;
      prevCount = n;
    }
    return prevLe;
  }
}

/**
 * A scrape memory keeps the last counters and histograms of a member's earlier incarnation
 * (it restarted from zero) under this name, beside the current one: totals never go backwards.
 */
export function retire(memory: Map<string, MetricJson[]>, member: string, startedAt: number): void {
  const last = memory.get(member);
  if (!last) return;
  memory.set(`${member}-incarnation${startedAt}`, last.filter((x) => ['counter', 'histogram'].includes(String(x.type))));
  memory.delete(member);
}

/** The member a snapshot's entry belongs to (itself, or the member of a retired incarnation). */
export const memberOf = (entry: string) => entry.replace(/-incarnation\d+$/, '');

/**
 * Fetches `/metrics.json` from every member. With `memory`, a member that no longer answers
 * (stopped, killed) keeps its last values, so run totals never go backwards.
 */
export async function scrape(members: string[], access: MemberAccess, memory?: Map<string, MetricJson[]>, timeoutMs = 800): Promise<Snapshot> {
  const results = await Promise.all(
    members.map(async (member) => {
      try {
        return [member, (await access.getJson(member, '/metrics.json', timeoutMs)) as MetricJson[]] as const;
      } catch {
        return null;
      }
    }),
  );
  const fresh = new Map(results.filter((r) => r !== null));
  if (!memory) return new Snapshot(Date.now(), fresh);
  for (const [member, metrics] of fresh) memory.set(member, metrics);
  return new Snapshot(Date.now(), new Map(memory), new Set(fresh.keys()));
}
