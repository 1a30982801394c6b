import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

// Benchmarks are not tests: these only check that the commands run and report what they promise.
const bench = (name: string, seconds: string, ...flags: string[]) => {
  const out = mkdtempSync(join(tmpdir(), 'sy-bench-'));
  const stdout = execFileSync(process.execPath, ['dist/cli/switchyard.js', 'bench', name, '--json', '--seconds', seconds, '--out', out, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const result = JSON.parse(stdout);
  assert.deepEqual(JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8')), result);
  assert.match(readFileSync(join(out, `${name}.md`), 'utf8'), new RegExp(`# switchyard bench ${name}`));
  return result;
};

test('bench flags are checked before anything runs', () => {
  for (const [flag, value, message] of [['--rounds', '0', /--rounds must be a positive whole number/], ['--rounds', '1.5', /--rounds must be a positive whole number/],
    ['--seconds', '0', /--seconds must be a positive number/], ['--seconds', 'soon', /--seconds must be a positive number/]] as const) {
    const r = spawnSync(process.execPath, ['dist/cli/switchyard.js', 'bench', 'bft', flag, value], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${flag} ${value}`);
    assert.match(r.stderr, message);
  }
  const validate = spawnSync(process.execPath, ['dist/cli/switchyard.js', 'bench', 'bft', '--validate'], { encoding: 'utf8' });
  assert.equal(validate.status, 2);
  assert.match(validate.stderr, /--validate is a flag of bench model/);
});

test('switchyard bench crypto reports its ratios, every backend and the C baseline', () => {
  const r = bench('crypto', '0.2');
  assert.ok(r.ratio_halfsiphash_ts_to_c > 0 && r.ratio_verify_hotpath_to_libsecp256k1 > 0);
  assert.deepEqual(Object.keys(r.signatures).sort(), ['libsecp256k1-native', 'libsecp256k1-wasm', 'noble']);
  assert.ok(r.halfsiphash_32b.c_gcc_O2_macs_per_s > 0 && r.mac_vectors_16_per_s > 0);
  assert.deepEqual(Object.keys(r.hmac_sha256_100b_per_s), ['noble', 'node:crypto (hot path)']);
});

test('switchyard bench model writes the calibration table: every role\'s message types in µs and the UDP costs', () => {
  const r = bench('model', '1', '--rounds', '1');
  const { roles, udp, samples } = r.calibration;
  for (const role of ['neobft-hm-replica', 'pbft-replica', 'unreplicated-server', 'hydrapaxos-replica']) {
    assert.ok(Object.values(roles[role]).length > 0 && Object.values(roles[role]).every((us) => (us as number) > 0), role);
    assert.deepEqual(Object.keys(samples[role]), Object.keys(roles[role]));
  }
  assert.ok(udp.send.baseUs > 0 && udp.receive.baseUs >= 0 && udp.woken.echoUs > 0, JSON.stringify(udp));
});

test('switchyard bench hydra reports the forwarder ratio, half-load delay, testbeds and simulations', () => {
  const r = bench('hydra', '1');
  assert.ok(r.ratio_sequencer_to_forwarder > 0);
  assert.ok(r.delay_p50_s_at_half_load >= 0);
  assert.deepEqual(r.testbeds.map((t: { sequencers: number }) => t.sequencers), [1, 2, 4]);
  assert.deepEqual(r.simulated.scaling.map((s: { sequencers: number }) => s.sequencers), [1, 2, 4, 8]);
  assert.deepEqual(r.simulated.failover.map((f: { design: string }) => f.design), ['single-sequencer', 'hydra']);
});

test('switchyard bench hydra-apps compares HydraPaxos with the unreplicated server (and by load) and sweeps HydraTxn\'s multi-shard share', () => {
  const r = bench('hydra-apps', '1', '--rounds', '2');
  assert.ok(r.ratio_throughput_hydrapaxos_to_unreplicated > 0 && r.ratio_p50_latency_hydrapaxos_to_unreplicated > 0);
  // Two rounds: the reported ratio is the median (the mean of two) of the rounds' own ratios.
  assert.equal(r.ratio_rounds.length, 2);
  assert.ok(Math.abs(r.ratio_throughput_hydrapaxos_to_unreplicated - (r.ratio_rounds[0].throughput + r.ratio_rounds[1].throughput) / 2) < 1e-9);
  assert.ok(r.kv.every((p: { ops_per_s_rounds: number[]; ops_per_s: number }) => p.ops_per_s_rounds.length === 2 && p.ops_per_s === Math.min(...p.ops_per_s_rounds)));
  assert.deepEqual(r.kv.map((p: { config: string }) => p.config), ['hydrapaxos-1', 'hydrapaxos-2', 'hydrapaxos-4', 'nopaxos-style', 'unreplicated']);
  assert.deepEqual(r.hydratxn.map((p: { multi_shard_share: number }) => p.multi_shard_share), [0, 0.25, 0.5, 1]);
  assert.ok([...r.kv, ...r.hydratxn].every((p: { linearizable: boolean; ops_per_s: number }) => p.linearizable && p.ops_per_s > 0));
  assert.ok(r.ratio_busiest_replica_cpu_unreplicated_to_hydrapaxos > 0);
  // The load curve: 1, 2, 4 clients measured apart, 8 taken from the rounds' median runs.
  assert.deepEqual(r.load_curve.map((c: { clients: number }) => c.clients), [1, 2, 4, 8]);
  for (const c of r.load_curve) {
    assert.ok(c.hydrapaxos_1.linearizable && c.unreplicated.linearizable && c.hydrapaxos_1.ops_per_s > 0, `${c.clients} clients`);
    assert.ok(Math.abs(c.ratio_throughput - c.hydrapaxos_1.ops_per_s / c.unreplicated.ops_per_s) < 1e-9);
  }
  assert.deepEqual(r.load_curve.at(-1).unreplicated, r.kv.find((p: { config: string }) => p.config === 'unreplicated'));
  for (const p of [...r.kv, ...r.hydratxn]) assert.ok(p.cpu_s_per_op.busiest_replica > 0 && p.cpu_s_per_op.clients > 0, `${p.config}: ${JSON.stringify(p.cpu_s_per_op)}`);
});

test('switchyard bench bft reports NeoBFT against the baselines and the unreplicated server', () => {
  const r = bench('bft', '1', '--rounds', '2');
  assert.ok(r.ratio_throughput_neobft_hm_to_pbft > 0 && r.ratio_p50_latency_pbft_to_neobft_hm > 0);
  const [a, b] = r.ratio_throughput_neobft_hm_to_pbft_rounds;
  assert.ok(Math.abs(r.ratio_throughput_neobft_hm_to_pbft - (a + b) / 2) < 1e-9, 'the median of two rounds');
  const hm = r.protocols[0];
  assert.equal(hm.ops_per_s_rounds.length, 2);
  assert.equal(hm.ops_per_s, Math.min(...hm.ops_per_s_rounds), 'the reported run is the lower middle one');
  assert.deepEqual(r.protocols.map((p: { protocol: string }) => p.protocol), ['neobft-hm', 'neobft-pk', 'pbft', 'hotstuff', 'zyzzyva', 'unreplicated']);
  assert.ok(r.ratio_throughput_neobft_hm_to_hotstuff > 0 && r.ratio_p50_latency_unloaded_hotstuff_to_neobft_hm > 0);
  assert.ok(r.protocols.every((p: { linearizable: boolean }) => p.linearizable));
  assert.ok(r.ratio_p50_latency_unloaded_pbft_to_neobft_hm > 0 && r.ratio_busiest_replica_cpu_pbft_to_neobft_hm > 0);
  for (const p of r.protocols) {
    assert.ok(p.unloaded_latency_s.p50 > 0, `${p.protocol}: latency with one client`);
    assert.ok(p.cpu_s_per_op.busiest_replica > 0 && p.cpu_s_per_op.clients > 0, `${p.protocol}: CPU per op ${JSON.stringify(p.cpu_s_per_op)}`);
    // NeoBFT: one request to the sequencer, its multicast to 4 replicas, 4 replies; PBFT adds its
    // phases; HotStuff: the request to all 4 replicas and 4 replies, its blocks and votes shared by a batch.
    // Counted by the members themselves, scraped one after another: a few operations' worth of skew.
    const least: Record<string, number> = { unreplicated: 2, hotstuff: 8 };
    assert.ok(p.datagrams_per_op >= 0.95 * (least[p.protocol] ?? 9), `${p.protocol}: ${p.datagrams_per_op} datagrams per op`);
  }
});

test('switchyard bench capybara reports migration phases by session size, the Fig. 8 and Fig. 7 settings under every mode, and the targets', () => {
  const r = bench('capybara', '2');
  assert.deepEqual(r.state_sizes.map((p: { state_kb: number }) => p.state_kb), [0, 16, 64, 128]);
  const runs = r.workloads.map((w: { figure: string; zipf: number; mode: string }) => `${w.figure} ${w.zipf} ${w.mode}`);
  assert.deepEqual(runs, [
    ...['capybara', 'reactive', 'lwrr', 'reconnect'].map((m) => `fig8 1.2 ${m}`),
    ...[0.9, 1, 1.1, 1.2].flatMap((z) => ['capybara', 'lwrr'].map((m) => `fig7 ${z} ${m}`)),
    'below-capacity 1 capybara', 'below-capacity 1 lwrr',
  ]);
  for (const w of r.workloads) {
    assert.equal(Object.keys(w.load_per_server_rps).length, w.figure === 'fig8' ? 2 : 12, `${w.workload} ${w.mode}: a load per server`);
    assert.ok(w.offered_rps > 0 && w.achieved_rps >= 0 && typeof w.machine_bound === 'boolean', `${w.workload} ${w.mode}: offered and achieved`);
    assert.ok(w.migrations_per_s >= 0 && w.cpu_s_per_op.servers > 0, `${w.workload} ${w.mode}: migrations/s and server CPU`);
    assert.ok(w.timeline.length > 0 && w.timeline.every((p: { ops_per_s: number; load_per_server_rps: object }) => p.ops_per_s >= 0 && Object.keys(p.load_per_server_rps).length > 0));
    if (w.mode === 'lwrr') assert.equal(w.migrations, 0, `${w.workload}: lwrr migrates nothing`);
  }
  assert.deepEqual(Object.keys(r.targets).sort(), ['below_capacity_capybara_within_10pct_of_lwrr', 'blackout_p50_at_most_300us', 'fig7_capybara_below_lwrr_every_skew', 'fig7_lwrr_at_least_5x_at_zipf_1_0_and_above',
    'fig8_capybara_below_reactive', 'fig8_lwrr_at_least_10x', 'machine_never_the_bottleneck_when_balanced', 'nothing_lost_duplicated_or_wrong']);
  assert.deepEqual(r.ratios.fig7.map((f: { zipf: number }) => f.zipf), [0.9, 1, 1.1, 1.2]);
  assert.equal(r.requests_lost, 0);
  assert.equal(r.requests_duplicated, 0);
  assert.equal(r.requests_wrong, 0);
  assert.equal(r.targets.nothing_lost_duplicated_or_wrong, true);
});
