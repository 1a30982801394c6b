import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Resvg } from '@resvg/resvg-js';
import type { WorkloadPoint } from '../bench/capybara/workload.js';
import { capybaraFigures } from '../bench/paper/capybara-figures.js';
import { type Figure, seriesLabel } from '../bench/paper/figure.js';
import { hydraFigures } from '../bench/paper/hydra-figures.js';
import { hydraPaxosFigures } from '../bench/paper/hydrapaxos-figures.js';
import { PAXOS_CONFIGS, type PaxosModel, paxosPlan } from '../bench/paper/hydrapaxos-source.js';
import { txnPlan } from '../bench/paper/hydratxn-source.js';
import { neobftFigures } from '../bench/paper/neobft-figures.js';
import { BFT_PROTOCOLS, type BftModel, bftPlan } from '../bench/paper/neobft-source.js';
import { renderFigure } from '../bench/paper/render.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;|&apos;/g, "'").replace(/&amp;/g, '&');

/** Checks an SVG with resvg's strict XML parser and a tag-balance walk; returns the text of its <text> elements. */
function svgTexts(svg: string): string[] {
  assert.doesNotThrow(() => new Resvg(svg), 'resvg parses the SVG');
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const open: string[] = [];
  for (const [, close, name, selfClosing] of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (close) assert.equal(open.pop(), name, `</${name}> closes the open element`);
    else if (!selfClosing) open.push(name!);
  }
  assert.deepEqual(open, [], 'every element is closed');
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => decode(m[1]!));
}

async function checkRendered(fig: Figure): Promise<void> {
  const r = await renderFigure(fig);
  const texts = svgTexts(r.svg);
  assert.ok(texts.includes(fig.title), `${fig.id}: title`);
  for (const s of fig.series) assert.ok(texts.includes(seriesLabel(s)), `${fig.id}: legend names "${seriesLabel(s)}"`);
  assert.ok(r.png.length > PNG_SIGNATURE.length && r.png.subarray(0, 8).equals(PNG_SIGNATURE), `${fig.id}: PNG`);
  // IHDR: width and height follow the signature, length and chunk type.
  assert.ok(r.png.readUInt32BE(16) > 0 && r.png.readUInt32BE(20) > 0, `${fig.id}: PNG has a size`);
}

test('every kind of figure renders headless to a well-formed SVG naming its series, and a PNG', async () => {
  const points = [{ x: 1, y: 10 }, { x: 2, y: 20 }, { x: 4, y: 35 }];
  const base = { x: { title: 'x' }, y: { title: 'y' }, caption: 'synthetic', finding: 'none', paper: [] };
  const series = [{ name: 'A & <B>', source: 'model' as const, points }, { name: 'A', source: 'loopback' as const, points: points.map((p) => ({ ...p, y: p.y / 2 })) }];
  const figures: Figure[] = [
    { ...base, id: 'line', kind: 'line', title: 'a line', series },
    { ...base, id: 'cdf', kind: 'cdf', title: 'a CDF', x: { title: 'µs', scale: 'log' }, series: series.map((s) => ({ ...s, points: [{ x: 5, y: 0.2 }, { x: 50, y: 0.9 }, { x: 60, y: 1 }] })) },
    { ...base, id: 'timeline', kind: 'timeline', title: 'a timeline', series, events: [{ x: 2, label: 'dies' }, { x: 3, label: 'back' }] },
  ];
  for (const fig of figures) await checkRendered(fig);
  assert.equal(seriesLabel(series[0]!), 'A & <B>, model (paper setting)');
  assert.equal(seriesLabel(series[1]!), 'A, loopback (measured)');
});

test('the Hydra figures render from a tiny run', async () => {
  const { group } = hydraFigures({ sequencers: [1, 2], seeds: [1], cdfSequencers: [1, 2], rerouteMs: 50 }, () => {});
  assert.deepEqual(group.figures.map((f) => f.id), ['hydra-throughput-vs-sequencers', 'hydra-delay-cdf', 'hydra-failover-timeline']);
  for (const fig of group.figures) {
    assert.ok(fig.series.length > 0 && fig.series.every((s) => s.points.length > 0), `${fig.id} has data`);
    assert.ok(fig.paper.length > 0, `${fig.id} sits beside the paper's numbers`);
    await checkRendered(fig);
  }
});

/** A Fig. 8 run of three seconds whose p99 and server 0's load rise after the step at 1 s. */
function syntheticFig8(mode: string, scale: number): WorkloadPoint {
  const timeline = [1, 2, 3].map((t) => ({
    t_s: t, ops_per_s: 700, latency_p99_s: t > 1 ? 0.004 * scale : 0.002,
    load_per_server_rps: { 'server-0': t > 1 ? 400 * scale : 80, 'server-1': t > 1 ? 300 : 50 },
  }));
  return {
    figure: 'fig8', workload: 'Fig. 8', zipf: 1.2, mode, timeline, offered_rps: 754, achieved_rps: 700, servable_rps: 754, machine_bound: false, ops_per_s: 700,
    latency_s: { p50: 0.001, p99: 0.004 * scale, p999: 0.005 * scale }, load_per_server_rps: timeline.at(-1)!.load_per_server_rps,
    migrations: 3, migrations_per_s: 1, reconnects: 0, cpu_s_per_op: {}, requests_lost: 0, requests_duplicated: 0, requests_wrong: 0,
  };
}

test('the Capybara figures render from a tiny synthetic run', async () => {
  const phases = (us: number) => ({
    prepare: { p50: us * 2e-6, p99: null }, serialize: { p50: 5e-7, p99: null }, transfer: { p50: us * 1e-6, p99: null },
    blackout: { p50: us * 1e-6, p99: null }, total: { p50: us * 4e-6, p99: null },
  });
  const { group } = capybaraFigures({
    seconds: 3, stepInWindow: 1, offeredAfterStep: 754,
    states: [{ state_kb: 0, migrations: 10, phases_s: phases(100) }, { state_kb: 64, migrations: 8, phases_s: phases(900) }],
    fig8: ['capybara', 'reactive', 'lwrr', 'reconnect'].map((m, i) => syntheticFig8(m, i + 1)),
  });
  assert.deepEqual(group.figures.map((f) => f.id), ['capybara-fig8-p99-timeline', 'capybara-fig8-load-timeline', 'capybara-migration-phases']);
  const [p99, load, sizes] = group.figures;
  assert.deepEqual(p99!.series.map((s) => s.name), ['capybara', 'reactive', 'lwrr', 'reconnect']);
  assert.deepEqual(p99!.events, [{ x: 1, label: "server 0's connections step up ×9" }]);
  // Each second's p99 is drawn from the start of that second: [0, 1), [1, 2), [2, 3), closed at 3.
  assert.deepEqual(p99!.series[2]!.points, [{ x: 0, y: 2 }, { x: 1, y: 12 }, { x: 2, y: 12 }, { x: 3, y: 12 }]);
  assert.equal(load!.series.length, 8);
  assert.ok(sizes!.series.some((s) => s.source === 'paper') && sizes!.series.some((s) => s.source === 'loopback'), 'measured beside the paper');
  assert.match(sizes!.finding, /0 KiB: 10 migrations, total p50 400µs \(35× the paper's 11.28 µs\)/);
  for (const fig of group.figures) {
    assert.ok(fig.series.every((s) => s.points.length > 0), `${fig.id} has data`);
    assert.ok(fig.paper.length > 0, `${fig.id} sits beside the paper's numbers`);
    await checkRendered(fig);
  }
});

test('the NeoBFT and HydraPaxos figures render from tiny synthetic series, the loopback points in their legends', async () => {
  const point = (clients: number, ops: number, p50: number) => ({ clients, ops_per_s: ops, p50_us: p50, p99_us: 2 * p50, ops: 100 });
  const curve = (k: number) => [point(1, 1000 * k, 100 / k), point(8, 5000 * k, 300 / k)];
  const loop = (ops: number, p50: number) => ({ clients: 8, ops_per_s: ops, p50_us: p50, seconds: 1 });
  const bft: BftModel = {
    curves: Object.fromEntries(BFT_PROTOCOLS.map((p, i) => [p, curve(i + 1)])) as BftModel['curves'],
    byF: { 'neobft-hm': [{ ...point(8, 900, 1), f: 1 }, { ...point(8, 800, 1), f: 2 }], pbft: [{ ...point(8, 400, 1), f: 1 }, { ...point(8, 200, 1), f: 2 }], hotstuff: [{ ...point(8, 300, 1), f: 1 }] },
    byLoss: { 'neobft-hm': [{ ...point(8, 900, 1), loss: 0 }, { ...point(8, 700, 1), loss: 0.01 }], zyzzyva: [{ ...point(8, 500, 1), loss: 0 }] },
  };
  const neo = neobftFigures(bftPlan('tiny'), bft, { 'neobft-hm': loop(300, 900), pbft: loop(100, 2700), hotstuff: loop(50, 9000), zyzzyva: loop(150, 1800) });
  assert.deepEqual(neo.group.figures.map((f) => f.id), ['neobft-latency-vs-throughput', 'neobft-throughput-vs-f', 'neobft-throughput-vs-drop-rate']);
  assert.equal(neo.ratios.ratio_throughput_neobft_hm_to_pbft, 5000 / 15000, "peak against peak");
  assert.equal(neo.ratios.loopback_ratio_throughput_neobft_hm_to_pbft, 3);
  assert.equal(neo.ratios.loopback_ratio_p50_latency_pbft_to_neobft_hm, 3);
  // HotStuff and Zyzzyva are the 4th and 5th curves (k = 4, 5): NeoBFT-HM's peak 5000 against 20 000 and 25 000, its one-client p50 100 against 25 and 20.
  assert.equal(neo.ratios.ratio_throughput_neobft_hm_to_hotstuff, 5000 / 20000);
  assert.equal(neo.ratios.ratio_p50_latency_zyzzyva_to_neobft_hm, 20 / 100);
  assert.equal(neo.ratios.loopback_ratio_throughput_neobft_hm_to_hotstuff, 6);
  assert.equal(neo.ratios.loopback_ratio_p50_latency_zyzzyva_to_neobft_hm, 2);
  assert.match(neo.group.figures[0]!.finding, /NeoBFT-HM \/ HotStuff throughput 0\.25× \(loopback 6\.00×\)/);
  assert.deepEqual(neo.json.not_modelled, []);
  const paxosModel = Object.fromEntries(PAXOS_CONFIGS.map((c, i) => [c, curve(i + 1)])) as PaxosModel;
  const txnPoint = (share: number, ops: number) => ({ ...point(16, ops, 500), share });
  const txn = {
    plan: txnPlan('tiny'), model: [txnPoint(0, 30_000), txnPoint(1, 12_000)],
    loopback: [{ ...loop(900, 9000), share: 0 }, { ...loop(450, 18_000), share: 1 }],
  };
  const paxos = hydraPaxosFigures(paxosPlan('tiny'), paxosModel, { 'hydrapaxos-1': loop(200, 800), unreplicated: loop(400, 400) }, txn);
  assert.equal(paxos.ratios.ratio_hydrapaxos_configuration, 'hydrapaxos-4', 'the best HydraPaxos configuration is compared');
  assert.equal(paxos.ratios.loopback_ratio_throughput_hydrapaxos_to_unreplicated, 0.5);
  assert.deepEqual(paxos.group.figures.map((f) => f.id), ['hydrapaxos-latency-vs-throughput', 'hydratxn-throughput-vs-multishard']);
  assert.equal(paxos.ratios.ratio_throughput_hydratxn_most_to_no_multishard, 0.4, 'all two-shard against none');
  assert.equal(paxos.ratios.loopback_ratio_throughput_hydratxn_most_to_no_multishard, 0.5);
  const txnFig = paxos.group.figures[1]!;
  assert.deepEqual(txnFig.series.map((s) => s.points), [[{ x: 0, y: 30_000 }, { x: 1, y: 12_000 }], [{ x: 0, y: 900 }, { x: 1, y: 450 }]]);
  assert.match(txnFig.finding, /modelled 0 % 30000 txn\/s \(p50 500 µs\), 100 % 12000 txn\/s \(p50 500 µs\); at the largest share 0\.40× the throughput with none/);
  for (const fig of [...neo.group.figures, ...paxos.group.figures]) {
    assert.ok(fig.paper.length > 0, `${fig.id} sits beside the paper's numbers`);
    await checkRendered(fig);
  }
  const legends = [...neo.group.figures, ...paxos.group.figures].flatMap((f) => f.series.map(seriesLabel));
  for (const label of ['NeoBFT-HM, 8 clients, loopback (measured)', 'HydraPaxos, 1 sequencer, 8 clients, loopback (measured)',
    'HotStuff, model (paper setting)', 'Zyzzyva, model (paper setting)', 'HotStuff, 8 clients, loopback (measured)', 'Zyzzyva, 8 clients, loopback (measured)',
    'HydraTxn, 16 clients, model (paper setting)', 'HydraTxn, 8 clients, loopback (measured)']) {
    assert.ok(legends.includes(label), `a legend names "${label}" (${legends.join(' | ')})`);
  }
});

test('switchyard bench paper --quick writes index.md referencing every figure file it wrote', () => {
  const out = mkdtempSync(join(tmpdir(), 'sy-paper-'));
  // --tiny: the modelled groups' smallest plans without their loopback runs; Capybara's loopback
  // testbeds of 1 s (not --quick's 3) keep the test short.
  const stdout = execFileSync(process.execPath, ['dist/cli/switchyard.js', 'bench', 'paper', '--quick', '--tiny', '--seconds', '1', '--json', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const json = JSON.parse(stdout);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'paper.json'), 'utf8')), json);
  const index = readFileSync(join(out, 'index.md'), 'utf8');
  const images = readdirSync(out).filter((f) => /\.(svg|png)$/.test(f));
  const figures = json.groups.flatMap((g: { figures: { files: { svg: string; png: string } }[] }) => g.figures);
  assert.equal(images.length, 2 * figures.length);
  assert.deepEqual(json.groups.map((g: { name: string }) => g.name), ['Hydra', 'NeoBFT', 'HydraPaxos', 'Capybara']);
  for (const f of images) assert.ok(index.includes(`(${f})`), `index.md links ${f}`);
  // HydraTxn's modelled throughput at each share of two-shard transactions, lower with all of them on two shards.
  const paxos = json.groups.find((g: { name: string }) => g.name === 'HydraPaxos');
  const txn = paxos.figures.find((f: { id: string }) => f.id === 'hydratxn-throughput-vs-multishard');
  assert.deepEqual(txn.series.map((s: { source: string }) => s.source), ['model'], 'no loopback run with --tiny');
  const shares = txn.series[0].points.map((p: { x: number; y: number }) => p.x);
  assert.deepEqual(shares, paxos.data.hydratxn.plan.shares);
  assert.ok(txn.series[0].points.every((p: { y: number }) => p.y > 0), JSON.stringify(txn.series[0].points));
  assert.ok(json.ratio_throughput_hydratxn_most_to_no_multishard < 1, `two-shard transactions cost throughput (${json.ratio_throughput_hydratxn_most_to_no_multishard})`);
  for (const [, link] of index.matchAll(/\]\(([^)]+)\)/g)) assert.ok(existsSync(join(out, link!)), `${link} exists`);
  assert.ok(json.render_ms.max > 0);
  const baselines = ['pbft', 'hotstuff', 'zyzzyva'].flatMap((b) => [`ratio_throughput_neobft_hm_to_${b}`, `ratio_p50_latency_${b}_to_neobft_hm`]);
  for (const field of [...baselines, 'ratio_throughput_hydrapaxos_to_unreplicated', 'ratio_p50_latency_hydrapaxos_to_unreplicated', 'ratio_throughput_hydratxn_most_to_no_multishard']) {
    assert.ok(typeof json[field] === 'number' && json[field] > 0, `${field} is a positive number (${json[field]})`);
    assert.ok(`loopback_${field}` in json, `loopback_${field} beside it`);
  }
  // HotStuff and Zyzzyva commit operations in the paper setting at every f and drop rate of the sweeps.
  const neo = json.groups.find((g: { name: string }) => g.name === 'NeoBFT').data.model as BftModel;
  for (const p of ['hotstuff', 'zyzzyva'] as const) {
    for (const pt of [...neo.curves[p], ...neo.byF[p]!, ...neo.byLoss[p]!]) assert.ok(pt.ops > 0, `${p}: ${JSON.stringify(pt)}`);
  }
});
