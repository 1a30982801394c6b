import { readFileSync } from 'node:fs';

/** What the dashboards' JSON holds that a query needs. */
export interface Dashboard {
  title: string;
  time: { from: string; to: string };
  templating: { list: Variable[] };
  panels: Panel[];
}

interface Panel {
  title: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

export interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string | null;
}

export function loadDashboard(path: string): Dashboard {
  return JSON.parse(readFileSync(path, 'utf8')) as Dashboard;
}

/** Every PromQL expression of every panel (rows' panels included), with its panel's title. */
export function panelQueries(d: Dashboard): { panel: string; expr: string }[] {
  const walk = (panels: Panel[]): { panel: string; expr: string }[] =>
    panels.flatMap((p) => [...(p.targets ?? []).filter((t) => t.expr).map((t) => ({ panel: p.title, expr: t.expr! })), ...walk(p.panels ?? [])]);
  return walk(d.panels);
}

/** Grafana's interval ladder (rangeutil roundInterval): the step nearest a raw interval, in ms. */
const LADDER: [below: number, step: number][] = [
  [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1500, 1000], [3500, 2000], [7500, 5000],
  [12_500, 10_000], [17_500, 15_000], [25_000, 20_000], [45_000, 30_000], [90_000, 60_000], [210_000, 120_000],
  [450_000, 300_000], [750_000, 600_000], [1_050_000, 900_000], [1_500_000, 1_200_000], [2_700_000, 1_800_000],
  [5_400_000, 3_600_000], [9_000_000, 7_200_000], [16_200_000, 10_800_000], [27_000_000, 21_600_000],
  [39_600_000, 43_200_000], [604_800_000, 86_400_000], [1_814_400_000, 604_800_000], [3_628_800_000, 2_592_000_000],
];
const roundInterval = (ms: number) => LADDER.find(([below]) => ms < below)?.[1] ?? 31_536_000_000;

const duration = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** A relative time like `now-15m` as milliseconds before now. */
function relativeMs(t: string): number {
  const m = /^now(?:-(\d+)([smhdw]))?$/.exec(t);
  if (!m) throw new Error(`time "${t}": only now and now-N[smhdw] are understood here`);
  return m[1] ? Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86_400e3, w: 604_800e3 }[m[2] as 's']! : 0;
}

/**
 * `$__interval` and `$__rate_interval` as Grafana computes them for a panel of `maxDataPoints`
 * over the dashboard's time range, with a data source whose scrape interval is `scrapeMs`:
 * interval = max(scrape, roundInterval(range / maxDataPoints)); rate interval =
 * max(interval + scrape, 4 × scrape) (Grafana docs, "Prometheus template variables").
 */
export function intervals(d: Dashboard, scrapeMs: number, maxDataPoints: number): { __interval: string; __rate_interval: string; rangeSeconds: number } {
  const rangeMs = relativeMs(d.time.from) - relativeMs(d.time.to);
  const interval = Math.max(scrapeMs, roundInterval(rangeMs / maxDataPoints));
  return { __interval: duration(interval), __rate_interval: duration(Math.max(interval + scrapeMs, 4 * scrapeMs)), rangeSeconds: rangeMs / 1000 };
}

/** Grafana's Prometheus data source escapes regex metacharacters in a multi-value variable's values. */
const regexEscape = (v: string) => v.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');

/**
 * A variable's value in a query, as Grafana's Prometheus data source writes it: one value of a
 * multi-value (or All-able) variable regex-escaped, several as `(a|b)`; All without an
 * `allValue` is every option.
 */
export function formatValue(v: Variable, selected: string[] | 'All', options: string[]): string {
  if (selected === 'All' && v.allValue) return v.allValue;
  const values = selected === 'All' ? options : selected;
  if (!v.multi && !v.includeAll) {
    if (values.length !== 1) throw new Error(`$${v.name} takes one value, not ${values.length}`);
    return values[0]!.replace(/\\/g, '\\\\').replace(/'/g, "\\\\'");
  }
  const escaped = values.map(regexEscape);
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

/** Substitutes `$name` and `${name}`; a variable the map lacks is an error (the dashboard uses one it doesn't define). */
export function interpolate(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$(\w+)|\$\{(\w+)\}/g, (_, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    if (!(name in values)) throw new Error(`"${expr}" uses $${name}, which is not defined`);
    return values[name]!;
  });
}

/** A query variable's `label_values(selector, label)` or `label_values(label)`. */
export function labelValuesQuery(v: Variable): { match: string | undefined; label: string } {
  const q = typeof v.query === 'string' ? v.query : v.query?.query ?? '';
  const m = /^label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)$/.exec(q.trim());
  if (!m) throw new Error(`variable $${v.name}: "${q}" is not a label_values() query`);
  return { match: m[1], label: m[2]! };
}
