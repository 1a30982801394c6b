import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type MetricJson, Snapshot, retire } from '../operator/report/scrape.js';

const metric = (name: string, type: string, value: number) => ({ name, help: '', type, aggregator: 'sum', values: [{ labels: {}, value }] }) as unknown as MetricJson;

test('a restarted member\'s earlier incarnation keeps its counters beside the new one (totals never go backwards), not its gauges', () => {
  const memory = new Map<string, MetricJson[]>([['client-0', [metric('ops_total', 'counter', 40), metric('view', 'gauge', 3)]]]);
  retire(memory, 'client-0', 1234);
  memory.set('client-0', [metric('ops_total', 'counter', 2), metric('view', 'gauge', 1)]);
  const s = new Snapshot(0, memory, new Set(['client-0']));
  assert.equal(s.sum('ops_total'), 42);
  assert.equal(s.sum('ops_total', {}, 'client-'), 42);
  assert.equal(s.max('view'), 1, 'a gauge is the current incarnation\'s');
  assert.deepEqual([...s.perMember('ops_total')], [['client-0', 42]], 'per member, over its incarnations');
  assert.deepEqual(s.fresh('client-0-incarnation1234'), undefined);
  retire(memory, 'client-9', 1);
  assert.equal(memory.size, 2, 'a member never scraped has nothing to retire');
});
