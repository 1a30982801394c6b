import assert from 'node:assert/strict';
import { join } from 'node:path';
import { formatValue, interpolate, intervals, labelValuesQuery, loadDashboard, panelQueries } from './grafana.js';
import { type PrometheusApi, eventually } from './prometheus.js';

/** The chart's Grafana dashboards, checked against a real Prometheus (local testbeds or a real cluster). */
export const DASHBOARDS = 'charts/switchyard/dashboards';
/** A panel about half a 1920-pixel screen wide: Grafana asks for that many points. */
const MAX_DATA_POINTS = 900;

/** The BFT dashboard's queries a testbed of one protocol answers: the clients' and its own metrics' (`prefixes`, e.g. `aom|neobft`). */
export const bftQueriesOf = (prefixes: string) => (e: string) => new RegExp(`switchyard_(client|${prefixes})_`).test(e);

/**
 * Runs every query of `dashboard` that `shows` selects, with the testbed variable resolved the
 * way Grafana resolves it (its own label_values() query) and set to `testbed`, then to All;
 * each must be valid PromQL and return a series. Waits (up to `seconds`) for series that
 * need a second scrape or a first event; reports every query that never had data. `shown`
 * collects the queries that had data; `log` hears of every query that had to wait longer than two
 * scrapes, with how long (what a slow check waited for).
 */
export async function checkDashboard(prom: PrometheusApi, file: string, testbed: string | null, shows: (expr: string) => boolean,
  opts: { scrapeMs: number; shown?: Set<string>; seconds?: number; log?: (line: string) => void }): Promise<void> {
  const seconds = opts.seconds ?? 180;
  const d = loadDashboard(join(DASHBOARDS, file));
  const iv = intervals(d, opts.scrapeMs, MAX_DATA_POINTS);
  const builtins = { __interval: iv.__interval, __rate_interval: iv.__rate_interval };
  const selections: Record<string, string>[] = [builtins];
  for (const v of d.templating.list.filter((x) => x.type === 'query')) {
    assert.equal(v.name, 'testbed', `${file}: a query variable other than $testbed (${v.name}) needs a value here`);
    assert.ok(testbed, `${file}: $testbed, but no testbed runs`);
    const { match, label } = labelValuesQuery(v);
    const asked = Date.now();
    const options = await eventually(`${file}: $testbed (${match}) to list ${testbed}`, async () => {
      const values = await prom.labelValues(label, match && interpolate(match, builtins), iv.rangeSeconds);
      return values.includes(testbed) && values;
    }, seconds * 1000);
    if (Date.now() - asked > opts.scrapeMs * 2) opts.log?.(`${file}: $testbed listed ${testbed} after ${((Date.now() - asked) / 1000).toFixed(1)} s`);
    selections.splice(0, selections.length,
      { ...builtins, testbed: formatValue(v, [testbed], options) },
      { ...builtins, testbed: formatValue(v, 'All', options) });
  }
  const deadline = Date.now() + seconds * 1000;
  const empty: string[] = [];
  const queries = panelQueries(d).filter((x) => shows(x.expr));
  assert.ok(queries.length > 0, `${file}: no query to check`);
  for (const q of queries) {
    let hasData = true;
    for (const values of selections) {
      const expr = interpolate(q.expr, values);
      const asked = Date.now();
      try {
        await eventually('a series', async () => (await prom.query(expr)).length > 0, Math.max(deadline - Date.now(), opts.scrapeMs * 2));
        const waited = Date.now() - asked;
        if (waited > opts.scrapeMs * 2) opts.log?.(`${file}: "${q.panel}" had data after ${(waited / 1000).toFixed(1)} s: ${expr}`);
      } catch (err) {
        empty.push(`"${q.panel}": ${expr} → ${(err as Error).message}`);
        hasData = false;
      }
    }
    if (hasData) opts.shown?.add(`${file} · ${q.expr}`);
  }
  assert.deepEqual(empty, [], `${file}: queries without data for ${testbed ?? 'the operator'}`);
}

