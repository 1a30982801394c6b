import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Resvg } from '@resvg/resvg-js';
import { type Figure, seriesLabel } from '../bench/paper/figure.js';
import { hydraFigures } from '../bench/paper/hydra-figures.js';
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

test('switchyard bench paper --quick writes index.md referencing every figure file it wrote', () => {
  const out = mkdtempSync(join(tmpdir(), 'sy-paper-'));
  const stdout = execFileSync(process.execPath, ['dist/cli/switchyard.js', 'bench', 'paper', '--quick', '--json', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const json = JSON.parse(stdout);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'paper.json'), 'utf8')), json);
  const index = readFileSync(join(out, 'index.md'), 'utf8');
  const images = readdirSync(out).filter((f) => /\.(svg|png)$/.test(f));
  const figures = json.groups.flatMap((g: { figures: { files: { svg: string; png: string } }[] }) => g.figures);
  assert.equal(images.length, 2 * figures.length);
  for (const f of images) assert.ok(index.includes(`(${f})`), `index.md links ${f}`);
  for (const [, link] of index.matchAll(/\]\(([^)]+)\)/g)) assert.ok(existsSync(join(out, link!)), `${link} exists`);
  assert.ok(json.render_ms.max > 0);
});
