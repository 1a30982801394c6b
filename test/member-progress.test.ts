import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseExposition, total } from '../operator/members/exposition.js';
import { BFT_METRICS } from '../node/neobft/metrics.js';
import { type MemberReading, ProgressTracker, describeVerdict } from '../operator/members/progress.js';
import { agreedValues } from '../operator/members/status-values.js';
import { plan } from '../operator/plan/plan.js';
import type { ProgressSignal } from '../operator/plan/types.js';
import { parseResource } from '../operator/schema/resources.js';

// Recorded from `switchyard up examples/sequencergroup.yaml` (prom-client's text format).
const CONFIG = readFileSync('test/fixtures/metrics/hydra-config.txt', 'utf8');
const RECEIVER = readFileSync('test/fixtures/metrics/hydra-receiver.txt', 'utf8');
const DELIVERED = /^(switchyard_hydra_delivered_total\{[^}]*\}) \d+$/m;

/** The recorded receiver text with its delivered counter at `n`, as member `member` would serve it. */
const receiverAt = (n: number) => parseExposition(RECEIVER.replace(DELIVERED, `$1 ${n}`));
const sequencerAt = (n: number) => parseExposition(`# TYPE switchyard_hydra_stamped_total counter\nswitchyard_hydra_stamped_total{sequencer="0"} ${n}\n`);
const planOf = (file: string) => plan(parseResource(parse(readFileSync(file, 'utf8'))));

test('the exposition parser reads members\' recorded /metrics and names the line it cannot read', () => {
  const config = parseExposition(CONFIG);
  assert.equal(total(config, 'switchyard_hydra_configuration'), 34);
  assert.equal(total(config, 'switchyard_hydra_active_sequencers'), 2);
  const receiver = parseExposition(RECEIVER);
  assert.equal(total(receiver, 'switchyard_hydra_delivered_total'), 2589);
  const bucket = receiver.find((s) => s.name.endsWith('_bucket') && s.labels.le === '+Inf');
  assert.ok(bucket && bucket.value >= 0, 'histogram buckets, +Inf included');
  assert.equal(receiver.find((s) => s.name === 'switchyard_hydra_delivered_total')?.labels.member, 'receiver-g0-0');
  const odd = parseExposition('x{a="q\\"uote\\\\d\\nnl",b="2",} 1.5e3 1700000000000\ny NaN\nz{} +Inf\n');
  assert.deepEqual(odd.map((s) => [s.name, s.labels, s.value]), [['x', { a: 'q"uote\\d\nnl', b: '2' }, 1500], ['y', {}, NaN], ['z', {}, Infinity]]);
  assert.equal(total(odd, 'x', { b: '2' }), 1500);
  assert.equal(total(odd, 'x', { b: '3' }), 0);
  for (const [bad, why] of [['ok 1\n{a="b"} 1', /line 2: no metric name/], ['m{a=b} 1', /line 1: malformed label/], ['m{a="b" c="d"} 1', /not separated/],
    ['m twelve', /"twelve" is not a number/], ['m 1 2 3', /expected a value/], ['m', /expected a value/], ['<html>', /line 1/]] as const) {
    assert.throws(() => parseExposition(bad), why, bad);
  }
});

test('status numbers take the majority of the members that report them: a lagging restarted replica does not decide', () => {
  const replica = (epoch: number, leader: number) => parseExposition(`switchyard_neobft_epoch ${epoch}\nswitchyard_neobft_leader ${leader}\n`);
  const members = ['replica-0', 'replica-1', 'replica-2', 'replica-3'];
  const metrics = { epoch: BFT_METRICS.epoch, leader: BFT_METRICS.leader };
  const restarted = new Map<string, MemberReading>([['replica-0', replica(1, 0)], ['replica-1', replica(4, 3)], ['replica-2', replica(4, 3)], ['replica-3', replica(4, 3)]]);
  assert.deepEqual(agreedValues(metrics, members, restarted), { epoch: 4, leader: 3 });
  const split = new Map<string, MemberReading>([['replica-0', replica(1, 0)], ['replica-1', replica(4, 3)], ['replica-2', new Error('no answer')], ['replica-3', replica(4, 3)]]);
  assert.deepEqual(agreedValues(metrics, members, split), {}, 'two of four is no majority');
  assert.deepEqual(agreedValues({ configuration: 'switchyard_hydra_configuration' }, ['config'], new Map([['config', parseExposition(CONFIG)]])), { configuration: 34 });
});

test('each kind names the counter that shows its protocol working, and never judges sooner than its spec\'s timeouts', () => {
  const hydra = planOf('examples/sequencergroup.yaml');
  assert.equal(hydra.progress?.counter.metric, 'switchyard_hydra_delivered_total');
  assert.equal(hydra.progress?.counter.members, 'receiver-');
  assert.equal(hydra.progress?.meanwhile?.metric, 'switchyard_hydra_stamped_total');
  assert.deepEqual(hydra.statusMembers, ['config-0', 'config-1', 'config-2']);
  for (const file of ['examples/hydrapaxos.yaml', 'examples/hydratxn.yaml', 'examples/bftcluster.yaml']) {
    const p = planOf(file);
    assert.deepEqual([p.progress?.counter.members, p.progress?.counter.metric, p.progress?.counter.labels], ['client-', 'switchyard_client_requests_total', { result: 'committed' }], file);
  }
  const bft = planOf('examples/bftcluster.yaml');
  assert.deepEqual(bft.statusMembers, ['replica-0', 'replica-1', 'replica-2', 'replica-3'], 'NeoBFT\'s epoch and leader come from every replica');
  assert.equal(bft.describeStatus({ epoch: 4, leader: 3 }), 'replicas at epoch 4, leader replica-3');
  assert.ok(bft.progress!.timeoutMs >= 200);
  const msvc = planOf('examples/migratingservice.yaml');
  assert.equal(msvc.progress?.counter.metric, 'switchyard_capybara_served_requests_total');
  const idle = parse(readFileSync('examples/sequencergroup.yaml', 'utf8'));
  idle.spec.workload.ratePerClient = 0;
  assert.equal(plan(parseResource(idle)).progress, null, 'no load: nothing is expected to move');
});

test('progress: moving counters keep a testbed progressing; one still for longer than the window is a stall naming the role; it recovers', () => {
  const signal = planOf('examples/sequencergroup.yaml').progress!;
  const t = new ProgressTracker(signal, 30_000);
  const read = (at: number, delivered: number, stamped: number) =>
    t.observe(at, new Map([['receiver-g0-0', receiverAt(delivered)], ['receiver-g1-0', receiverAt(delivered)], ['sequencer-0', sequencerAt(stamped)], ['config-0', parseExposition(CONFIG)], ['config-1', parseExposition(CONFIG)]]));
  assert.deepEqual(t.verdict(0), { state: 'waiting' });
  read(0, 100, 1000);
  assert.deepEqual(t.verdict(0), { state: 'waiting' }, 'one reading is only a baseline');
  read(5000, 200, 2000);
  assert.deepEqual(t.verdict(5000), { state: 'progressing' });
  assert.equal(describeVerdict(signal, t.verdict(5000), 'configuration service at configuration 34'), 'receivers delivering');
  // Delivery stops while the sequencers keep stamping (issue 18: a sequencer deleted, the configuration service lost).
  for (let at = 10_000; at <= 35_000; at += 5000) read(at, 200, at);
  assert.deepEqual(t.verdict(35_000), { state: 'progressing' }, 'still within 30 s of the last progress');
  read(40_000, 200, 40_000);
  const stalled = t.verdict(40_000);
  assert.deepEqual(stalled, { state: 'stalled', windowMs: 30_000, meanwhile: true });
  assert.equal(describeVerdict(signal, stalled, 'configuration service at configuration 1'),
    'receivers delivered nothing for 30 s; sequencers kept stamping; configuration service at configuration 1');
  // A receiver restarts (its counter starts again from zero) and delivers: progress.
  read(45_000, 7, 45_000);
  assert.deepEqual(t.verdict(45_000), { state: 'progressing' });
});

test('progress: nothing stamped either is said so; no member answering is unknown, not stalled', () => {
  const signal: ProgressSignal = planOf('examples/sequencergroup.yaml').progress!;
  const idle = new ProgressTracker(signal, 10_000);
  for (let at = 0; at <= 15_000; at += 5000) idle.observe(at, new Map([['receiver-g0-0', receiverAt(5)], ['sequencer-0', sequencerAt(9)]]));
  assert.equal(describeVerdict(signal, idle.verdict(15_000), null), 'receivers delivered nothing for 10 s; sequencers stamped nothing either');
  const dark = new ProgressTracker(signal, 10_000);
  dark.observe(0, new Map([['receiver-g0-0', receiverAt(5)]]));
  for (let at = 5000; at <= 20_000; at += 5000) dark.observe(at, new Map([['receiver-g0-0', new Error('/metrics: ECONNREFUSED')]]));
  const v = dark.verdict(20_000);
  assert.equal(v.state, 'unknown');
  assert.equal(describeVerdict(signal, v, null), 'receivers\' /metrics did not answer for 10 s (receiver-g0-0: /metrics: ECONNREFUSED)');
  const clients = new ProgressTracker(planOf('examples/bftcluster.yaml').progress!, 1000);
  const client = (committed: number, retried: number) => parseExposition(
    `switchyard_client_requests_total{system="neobft",result="committed"} ${committed}\nswitchyard_client_requests_total{system="neobft",result="retried"} ${retried}\n`);
  clients.observe(0, new Map([['client-0', client(10, 0)]]));
  clients.observe(2000, new Map([['client-0', client(10, 779)]]));
  assert.equal(describeVerdict(clients.signal, clients.verdict(2000), 'replicas at epoch 4, leader replica-1'),
    'clients committed nothing for 1 s; clients kept retrying; replicas at epoch 4, leader replica-1');
});
