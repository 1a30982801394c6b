import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { Figure } from './figure.js';
import { figureSpec } from './specs.js';

export interface Rendered {
  svg: string;
  png: Buffer;
  /** Milliseconds spent on each step. */
  ms: { compile: number; svg: number; png: number };
}

/** Renders a figure headless: Vega-Lite → Vega → SVG string (no browser, no canvas) → PNG at 2×. */
export async function renderFigure(fig: Figure): Promise<Rendered> {
  const t0 = performance.now();
  const spec = compile(figureSpec(fig)).spec;
  const t1 = performance.now();
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const t2 = performance.now();
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  const t3 = performance.now();
  return { svg, png, ms: { compile: t1 - t0, svg: t2 - t1, png: t3 - t2 } };
}
