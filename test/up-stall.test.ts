import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plan } from '../operator/plan/plan.js';
import { HYDRA_METRICS } from '../node/hydra/metrics.js';
import { CLIENT_METRICS } from '../node/runtime/metrics.js';
import { type MetricJson, Snapshot } from '../operator/report/scrape.js';
import { StallWatch } from '../operator/report/stall.js';
import { loadResourceFile } from '../operator/schema/resources.js';

const counter = (name: string, values: [Record<string, string>, number][]) =>
  ({ name, help: '', type: 'counter', aggregator: 'sum', values: values.map(([labels, value]) => ({ labels, value })) }) as unknown as MetricJson;

/** A scrape at `t` s where each client has committed `committed[i]` and sequencers stamped `stamped`; `answered` defaults to all. */
function scrapeAt(t: number, committed: number[], stamped: number, answered?: string[]): Snapshot {
  const members = new Map<string, MetricJson[]>(committed.map((n, i) => [`client-${i}`, [counter(CLIENT_METRICS.requests, [[{ result: 'committed' }, n], [{ result: 'retried' }, 1]])]]));
  members.set('sequencer-0', [counter(HYDRA_METRICS.stamped, [[{}, stamped]])]);
  return new Snapshot(t * 1000, members, new Set(answered ?? members.keys()));
}

const hydraPaxos = plan(loadResourceFile('examples/hydrapaxos.yaml'));
const all = ['client-0', 'client-1', 'sequencer-0'];

test('up calls a protocol stalled with the operator\'s ProtocolStalled message once its counter has not moved for the window (30 s)', () => {
  const watch = new StallWatch(hydraPaxos);
  assert.equal(watch.observe(scrapeAt(0, [5, 5], 10), all), null);
  assert.equal(watch.observe(scrapeAt(1, [6, 5], 20), all), null, 'moving');
  for (let t = 2; t <= 31; t++) assert.equal(watch.observe(scrapeAt(t, [6, 5], 20 + t), all), null, `${t - 1} s without a commit is within the window`);
  assert.equal(watch.observe(scrapeAt(32, [6, 5], 60), all), 'ProtocolStalled: clients committed nothing for 30 s; sequencers kept stamping');
});

test('a member restarted from zero is progress once it counts up again, and one not running is not read', () => {
  const watch = new StallWatch(hydraPaxos);
  watch.observe(scrapeAt(0, [50, 50], 10), all);
  // client-0 restarts (not running for a while, then back at 0 and committing); client-1 is stuck.
  for (let t = 1; t <= 20; t++) assert.equal(watch.observe(scrapeAt(t, [50, 50], 10), ['client-1', 'sequencer-0']), null);
  assert.equal(watch.observe(scrapeAt(21, [0, 50], 10), all), null);
  for (let t = 22; t <= 45; t++) assert.equal(watch.observe(scrapeAt(t, [t - 21, 50], 10), all), null, 'the restarted client commits');
});

test('a run shorter than the window cannot stall, and a plan without a progress signal never does', () => {
  const watch = new StallWatch(hydraPaxos);
  for (let t = 0; t <= 29; t++) assert.equal(watch.observe(scrapeAt(t, [0, 0], 0), all), null);
  const idle = new StallWatch({ ...hydraPaxos, progress: null });
  for (let t = 0; t <= 100; t += 10) assert.equal(idle.observe(scrapeAt(t, [0, 0], 0), all), null);
});
