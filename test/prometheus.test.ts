import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { plan } from '../operator/plan/plan.js';
import { loadResourceFile } from '../operator/schema/resources.js';
import { freePort, startControlPlane } from './kube/envtest.js';
import { DASHBOARDS, checkDashboard, bftQueriesOf } from './support/dashboards.js';
import { loadDashboard, panelQueries } from './support/grafana.js';
import { type Prometheus, type Target, eventually, prometheusTools, promtoolProblems, startPrometheus } from './support/prometheus.js';
import { spawnUp } from './support/up-process.js';

/**
 * Every query of every panel of the chart's dashboards, run by a real Prometheus that scrapes a
 * running testbed of the dashboard's kind (and the operator, for its dashboard): valid PromQL,
 * and at least one series (DESIGN.md, Metrics). Each member's /metrics also passes `promtool
 * check metrics`.
 */
const SCRAPE_MS = 2000;
/**
 * prom-client's default process metrics include three gauges named `nodejs_active_*_total`,
 * which promtool flags (a gauge with a counter's suffix). prom-client fixes those names (its
 * options only add a prefix), and renaming them ourselves would break the Node.js dashboards
 * users already have, so only these three upstream names are let through; our own
 * `switchyard_*` metrics must be clean.
 */
const UPSTREAM_GAUGES = /^nodejs_active_(handles|requests|resources)_total\b/;

const tools = prometheusTools();
const skip = 'skip' in tools ? `skipped: ${tools.skip}` : false;
if (skip) console.log(`prometheus.test: ${skip}`);
let prom: Prometheus;
/** `dashboard · expr` of every query some test has seen return data. */
const shown = new Set<string>();

before(async () => {
  if ('dir' in tools) prom = await startPrometheus(tools.dir, SCRAPE_MS / 1000);
});
after(async () => {
  await prom?.stop();
});

/** Scrapes `targets` until each is `up == 1`, then runs promtool on each one's /metrics. */
async function scrapeAndLint(targets: Target[]): Promise<void> {
  prom.setTargets(targets);
  await eventually('every target scraped with up == 1', async () => {
    const up = new Map((await prom.query('up')).map((s) => [s.metric.instance, s.value[1]]));
    return targets.every((t) => up.get(t.address) === '1');
  }, 180_000);
  const problems: string[] = [];
  for (const t of targets) {
    const text = await (await fetch(`http://${t.address}/metrics`)).text();
    const own = promtoolProblems((tools as { dir: string }).dir, text).filter((p) => !UPSTREAM_GAUGES.test(p));
    problems.push(...own.map((p) => `${t.name}: ${p}`));
  }
  assert.deepEqual(problems, [], 'promtool check metrics');
}

/**
 * Runs the example (edited) as a local testbed named `name` (a name no earlier case used, so
 * that $testbed must list this one), scrapes each member, checks the dashboard's queries for it.
 */
async function testbedCase(name: string, example: string, dashboard: string, shows: (expr: string) => boolean, edit = (yaml: string) => yaml) {
  const file = join(mkdtempSync(join(tmpdir(), 'sy-prom-')), 'testbed.yaml');
  writeFileSync(file, edit(readFileSync(example, 'utf8')).replace(/^ {2}name: .*$/m, `  name: ${name}`));
  const p = plan(loadResourceFile(file));
  // Long enough for any wait below; interrupted once the checks are done.
  const up = spawnUp(file, 900);
  try {
    const base = await eventually('the testbed\'s metrics ports', async () => Number(up.out.stderr.match(/metrics (\d+)\+id/)?.[1]), 60_000);
    const ended = up.exited.then((code) => Promise.reject(new Error(`switchyard up ended (exit ${code}) before running`)));
    await Promise.race([eventually('the testbed running (its first progress line)', async () => /\[\s*\d+s\]/.test(up.out.stderr), 180_000), ended])
      .catch((err) => assert.fail(`${(err as Error).message}\n${up.out.stderr}`));
    await scrapeAndLint(p.members.map((m) => ({ address: `127.0.0.1:${base + p.idOf(m.name)}`, name: m.name })));
    await checkDashboard(prom, dashboard, p.name, shows, { scrapeMs: SCRAPE_MS, shown });
  } finally {
    up.interrupt();
    await up.exited;
  }
}

const everything = () => true;
const notApplications = (e: string) => !/hydrapaxos|hydratxn/.test(e);
const protocol = (name: string) => (y: string) => y.replace('protocol: neobft-hm', `protocol: ${name}`);
/** The operator test's lighter Hydra load: these 2 cores also run Prometheus and the checks. */
const light = (y: string) => y.replace('ratePerClient: 2000', 'ratePerClient: 200');

test('Hydra dashboard: every query but the application panels\' has data from a SequencerGroup (Hydra alone)', { skip }, () =>
  testbedCase('hydra', 'examples/sequencergroup.yaml', 'hydra.json', notApplications, light));

test('Hydra dashboard: every query, application panels included, has data from a HydraPaxos SequencerGroup', { skip }, () =>
  testbedCase('hydrapaxos', 'examples/hydrapaxos.yaml', 'hydra.json', everything));

test('Hydra dashboard: every query has data from a HydraTxn SequencerGroup', { skip }, () =>
  testbedCase('hydratxn', 'examples/hydratxn.yaml', 'hydra.json', everything));


test('BFT dashboard: every query but the baselines\' panels has data from a NeoBFT-HM BFTCluster', { skip }, () =>
  testbedCase('neobft', 'examples/bftcluster.yaml', 'bft.json', bftQueriesOf('aom|neobft')));

for (const baseline of ['pbft', 'hotstuff', 'zyzzyva']) {
  test(`BFT dashboard: the client and ${baseline} queries have data from a ${baseline} BFTCluster (listed by $testbed)`, { skip }, () =>
    testbedCase(baseline, 'examples/bftcluster.yaml', 'bft.json', bftQueriesOf(baseline), protocol(baseline)));
}

test('BFT dashboard: the client queries have data from an unreplicated BFTCluster (listed by $testbed)', { skip }, () =>
  testbedCase('unreplicated', 'examples/bftcluster.yaml', 'bft.json', bftQueriesOf('client'), protocol('unreplicated')));

test('Capybara dashboard: every query has data from a MigratingService', { skip }, () =>
  testbedCase('capybara', 'examples/migratingservice.yaml', 'capybara.json', everything));

test('operator dashboard: every query has data from an operator reconciling against a real API server', { skip }, async () => {
  const cp = await startControlPlane();
  let operator: ChildProcess | undefined;
  let log = '';
  try {
    cp.kubectl(['apply', '-f', 'crds/']);
    cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    const port = await freePort();
    operator = spawn(process.execPath, ['dist/cli/switchyard.js', 'operator', '--image', 'switchyard:test', '--port', String(port), '--resync', '5'], {
      env: { ...process.env, KUBECONFIG: cp.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [operator.stdout!, operator.stderr!]) stream.on('data', (c) => (log = (log + c).slice(-5000)));
    cp.kubectl(['apply', '-f', 'examples/sequencergroup.yaml']);
    await scrapeAndLint([{ address: `127.0.0.1:${port}`, name: 'operator' }]);
    await checkDashboard(prom, 'operator.json', null, everything, { scrapeMs: SCRAPE_MS, shown });
  } catch (err) {
    throw new Error(`${(err as Error).message}\noperator log:\n${log}`);
  } finally {
    operator?.kill('SIGTERM');
    await cp.stop();
  }
});

test('every query of every dashboard was checked against a running testbed or operator', { skip }, () => {
  const unchecked = readdirSync(DASHBOARDS).flatMap((file) =>
    panelQueries(loadDashboard(join(DASHBOARDS, file))).map((q) => `${file} · ${q.expr}`).filter((k) => !shown.has(k)));
  assert.deepEqual(unchecked, []);
});
