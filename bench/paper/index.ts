import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from '../support/types.js';
import { capybaraFigures } from './capybara-figures.js';
import { capybaraPlan, capybaraRuns } from './capybara-source.js';
import type { FigureGroup } from './figure.js';
import { hydraFigures } from './hydra-figures.js';
import { hydraPlan } from './hydra-source.js';
import { renderFigure } from './render.js';
import { type FigureFiles, indexMarkdown } from './report.js';

/**
 * `switchyard bench paper`: the papers' figures as SVG and PNG, an index.md that sets each beside
 * the paper's own numbers, and paper.json with the series behind them.
 */
export async function benchPaper(opts: BenchOptions, log: (line: string) => void): Promise<number> {
  const quick = opts.quick ?? false;
  const out = opts.out ?? join('bench-results', 'paper');
  mkdirSync(out, { recursive: true });
  const started = performance.now();
  log(`bench paper${quick ? ' --quick' : ''}: Hydra figure group`);
  const hydra = hydraFigures(hydraPlan(quick), log);
  log(`bench paper${quick ? ' --quick' : ''}: Capybara figure group (loopback testbeds)`);
  const capybara = capybaraFigures(await capybaraRuns(capybaraPlan(quick, opts.seconds), log));
  const groups: { group: FigureGroup; json: Record<string, unknown> }[] = [hydra, capybara];

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
  const command = `switchyard bench paper${quick ? ' --quick' : ''}${opts.seconds === undefined ? '' : ` --seconds ${opts.seconds}`}`;
  writeFileSync(join(out, 'index.md'), indexMarkdown(written, when, command));
  const renderMs = written.flatMap((g) => g.figures.map((f) => f.render_ms));
  const json = {
    bench: 'paper', measured_at: when, quick,
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
