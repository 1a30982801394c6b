import type { TopLevelSpec } from 'vega-lite';
import { type Figure, seriesLabel } from './figure.js';

const WIDTH = 520;
const HEIGHT = 300;

/** The Vega-Lite spec of a figure: one colour per series, named in a legend below the plot. */
export function figureSpec(fig: Figure): TopLevelSpec {
  const values = fig.series.flatMap((s) => s.points.map((p) => ({ x: p.x, y: p.y, series: seriesLabel(s) })));
  const line = {
    mark: { type: 'line' as const, point: fig.kind === 'line', interpolate: fig.kind === 'line' ? 'linear' as const : 'step-after' as const },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: fig.x.title, scale: fig.x.scale === 'log' ? { type: 'log' as const } : { zero: fig.kind !== 'cdf' } },
      y: {
        field: 'y', type: 'quantitative' as const, title: fig.y.title,
        scale: fig.kind === 'cdf' ? { domain: [0, 1] } : { type: fig.y.scale ?? 'linear' },
      },
      color: {
        field: 'series', type: 'nominal' as const, title: null,
        // Legend order follows the figure's series order.
        sort: fig.series.map(seriesLabel),
        legend: { orient: 'bottom' as const, direction: 'vertical' as const, labelLimit: 1000 },
      },
      // Series overlap (timelines where nothing happens, phases that share a histogram bucket): dashes keep each visible.
      ...(fig.kind !== 'cdf' ? { strokeDash: { field: 'series', type: 'nominal' as const, sort: fig.series.map(seriesLabel), legend: null } } : {}),
    },
  };
  // Labels stack down the plot's top edge so that close events stay readable.
  const events = (fig.events ?? []).map((e, i) => ({ ...e, py: 14 * i }));
  const annotations = events.length === 0 ? [] : [
    { data: { values: events }, mark: { type: 'rule' as const, strokeDash: [4, 4], color: 'gray' }, encoding: { x: { field: 'x', type: 'quantitative' as const } } },
    {
      data: { values: events },
      mark: { type: 'text' as const, align: 'left' as const, baseline: 'top' as const, dx: 3, dy: 3, angle: 0, fontSize: 10, color: 'dimgray' },
      encoding: { x: { field: 'x', type: 'quantitative' as const }, y: { field: 'py', type: 'quantitative' as const, scale: null }, text: { field: 'label', type: 'nominal' as const } },
    },
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: fig.title, width: WIDTH, height: HEIGHT, background: 'white',
    config: { font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif' },
    data: { values },
    layer: [line, ...annotations],
  } as TopLevelSpec;
}
