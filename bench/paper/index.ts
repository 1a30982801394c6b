import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from '../support/types.js';
import { capybaraFigures } from './capybara-figures.js';
import { capybaraPlan, capybaraRuns } from './capybara-source.js';
import type { FigureGroup } from './figure.js';
import { hydraFigures } from './hydra-figures.js';
import { hydraPlan } from './hydra-source.js';
import { calibrate } from '../model/table.js';
import { hydraPaxosFigures } from './hydrapaxos-figures.js';
import { loopbackPaxos } from './hydrapaxos-loopback.js';
import { PAXOS_ROLES, modelPaxos, paxosPlan } from './hydrapaxos-source.js';
import { loopbackTxn } from './hydratxn-loopback.js';
import { TXN_ROLES, modelTxn, txnPlan } from './hydratxn-source.js';
import { neobftFigures } from './neobft-figures.js';
import { loopbackBft } from './neobft-loopback.js';
import { BFT_ROLES, bftPlan, modelBft } from './neobft-source.js';
import { renderFigure } from './render.js';
import { type FigureFiles, indexMarkdown } from './report.js';

/**
 * `switchyard bench paper`: the papers' figures as SVG and PNG, an index.md that sets each beside
 * the paper's own numbers, and paper.json with the series behind them.
 */
export async function benchPaper(opts: BenchOptions, log: (line: string) => void): Promise<number> {
  const quick = opts.quick ?? false;
  const scale = opts.tiny ? 'tiny' : quick ? 'quick' : 'full';
  const out = opts.out ?? join('bench-results', 'paper');
  mkdirSync(out, { recursive: true });
  const started = performance.now();
  log(`bench paper${quick ? ' --quick' : ''}${opts.tiny ? ' --tiny' : ''}: Hydra figure group`);
  const hydra = hydraFigures(hydraPlan(scale !== 'full'), log);
  // The cost model's calibration, once for every modelled group's roles (--quick: one repetition).
  log('calibrating the cost model (per-message costs of each modelled role, UDP per datagram)');
  const since = (t: number) => `${((performance.now() - t) / 1e3).toFixed(1)} s`;
  let t = performance.now();
  const table = await calibrate({ roles: [...BFT_ROLES, ...PAXOS_ROLES, ...TXN_ROLES], reps: scale === 'full' ? 5 : 1 });
  log(`  calibrated in ${since(t)}; NeoBFT figure group (model, then loopback)`);
  const bp = bftPlan(scale);
  t = performance.now();
  const neobft = neobftFigures(bp, modelBft(table, bp, log), await loopbackBft(bp.loopbackSeconds, log));
  log(`  NeoBFT group in ${since(t)}; HydraPaxos figure group (model, then loopback)`);
  const pp = paxosPlan(scale);
  t = performance.now();
  const tp = txnPlan(scale);
  const paxosModel = modelPaxos(table, pp, log);
  const txnModel = modelTxn(table, tp, log);
  const paxos = hydraPaxosFigures(pp, paxosModel, await loopbackPaxos(pp.loopbackSeconds, log),
    { plan: tp, model: txnModel, loopback: await loopbackTxn(tp.shares, tp.loopbackSeconds, log) });
  log(`  HydraPaxos group in ${since(t)}`);
  // Capybara's group is loopback only: --tiny keeps it, at its quick plan (and --seconds).
  log(`bench paper${quick ? ' --quick' : ''}: Capybara figure group (loopback testbeds)`);
  const capybara = capybaraFigures(await capybaraRuns(capybaraPlan(scale !== 'full', opts.seconds), log));
  const groups: { group: FigureGroup; json: Record<string, unknown> }[] = [hydra, neobft, paxos, capybara];

  const written: { name: string; data: Record<string, unknown>; figures: FigureFiles[] }[] = [];
  for (const { group, json } of groups) {
    const figures: FigureFiles[] = [];
    for (const figure of group.figures) {
      const r = await renderFigure(figure);
      const files = { svg: `${figure.id}.svg`, png: `${figure.id}.png` };
      writeFileSync(join(out, files.svg), r.svg);
      writeFileSync(join(out, files.png), r.png);
      const total = r.ms.compile + r.ms.svg + r.ms.png;
      log(`  rendered ${figure.id}: ${total.toFixed(0)} ms (Vega-Lite ${r.ms.compile.toFixed(0)}, SVG ${r.ms.svg.toFixed(0)}, PNG ${r.ms.png.toFixed(0)})`);
      figures.push({ figure, ...files, render_ms: total });
    }
    written.push({ name: group.name, data: json, figures });
  }

  const when = new Date().toISOString();
  const command = `switchyard bench paper${quick ? ' --quick' : ''}${opts.tiny ? ' --tiny' : ''}${opts.seconds === undefined ? '' : ` --seconds ${opts.seconds}`}`;
  writeFileSync(join(out, 'index.md'), indexMarkdown(written, when, command));
  const renderMs = written.flatMap((g) => g.figures.map((f) => f.render_ms));
  const json = {
    bench: 'paper', measured_at: when, quick, tiny: opts.tiny ?? false,
    // The paper-setting ratios, each beside its loopback counterpart.
    ...neobft.ratios, ...paxos.ratios,
    calibration: table,
    run_s: (performance.now() - started) / 1e3,
    render_ms: { max: Math.max(...renderMs), total: renderMs.reduce((a, b) => a + b, 0) },
    groups: written.map((g) => ({
      name: g.name, data: g.data,
      figures: g.figures.map((f) => ({ ...f.figure, files: { svg: f.svg, png: f.png }, render_ms: f.render_ms })),
    })),
  };
  writeFileSync(join(out, 'paper.json'), `${JSON.stringify(json, null, 2)}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  else process.stdout.write(`${written.flatMap((g) => g.figures.map((f) => `${f.figure.title}: ${join(out, f.svg)} (and .png)`)).join('\n')}\n`);
  log(`wrote ${join(out, 'index.md')}, ${join(out, 'paper.json')} and ${renderMs.length} figures in ${json.run_s.toFixed(1)} s`);
  return 0;
}
