import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchBft } from './bft/index.js';
import { benchCapybara } from './capybara/index.js';
import { benchCrypto } from './crypto/index.js';
import { benchHydra } from './hydra/index.js';
import { benchHydraApps } from './hydra-apps/index.js';
import { benchModel } from './model/index.js';
import { benchPaper } from './paper/index.js';
import type { BenchOptions, BenchResult } from './support/types.js';

const benches: Record<string, (o: BenchOptions, log: (l: string) => void) => Promise<BenchResult>> = {
  hydra: benchHydra, 'hydra-apps': benchHydraApps, crypto: benchCrypto, bft: benchBft, capybara: benchCapybara, model: benchModel,
};

function markdown(r: BenchResult, when: string): string {
  const parts = [`# switchyard bench ${r.name}`, '', `Measured ${when} on this machine (${process.platform}, Node ${process.version}).`, ''];
  for (const [title, header, rows] of r.tables) {
    parts.push(`## ${title}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`), '');
  }
  for (const [title, plot] of r.plots ?? []) parts.push(`## ${title}`, '', '```', plot, '```', '');
  return parts.join('\n');
}

/** `switchyard bench NAME`: measures, prints a table, writes `NAME.json` and `NAME.md` to the output directory. */
export async function bench(targets: string[], opts: BenchOptions): Promise<number> {
  const log = (l: string) => process.stderr.write(`${l}\n`);
  // The figures write their own report (index.md, SVG and PNG files), not NAME.md.
  if (targets.length === 1 && targets[0] === 'paper') return benchPaper(opts, log);
  if (targets.length !== 1 || !benches[targets[0]!]) {
    throw new Error(`bench takes one of: ${[...Object.keys(benches), 'paper'].join(', ')}`);
  }
  const name = targets[0]!;
  const result = await benches[name]!(opts, log);
  const when = new Date().toISOString();
  const out = opts.out ?? 'bench-results';
  mkdirSync(out, { recursive: true });
  const json = { bench: name, measured_at: when, ...result.json };
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  const report = markdown(result, when);
  writeFileSync(join(out, `${name}.md`), report);
  if (opts.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  else process.stdout.write(`${report}\n`);
  process.stderr.write(`wrote ${join(out, `${name}.json`)} and ${join(out, `${name}.md`)}\n`);
  return 0;
}
