import type { PaperNumber } from './paper-numbers.js';

/** Where a series comes from; every legend entry says which. */
export type Source = 'model' | 'loopback' | 'paper';

export const SOURCE_LABELS: Record<Source, string> = { model: 'model (paper setting)', loopback: 'loopback (measured)', paper: 'paper (reported)' };

export interface Series {
  name: string;
  source: Source;
  points: { x: number; y: number }[];
}

export interface Axis {
  title: string;
  scale?: 'linear' | 'log';
}

/** One figure's data, independent of how it is drawn. */
export interface Figure {
  /** File stem of its SVG and PNG. */
  id: string;
  title: string;
  /** line: y against x; cdf: y is the fraction ≤ x; timeline: x is time, with marked events. */
  kind: 'line' | 'cdf' | 'timeline';
  x: Axis;
  y: Axis;
  series: Series[];
  events?: { x: number; label: string }[];
  /** What was run to get the series. */
  caption: string;
  /** What this run's series show, in the terms of the paper's numbers. */
  finding: string;
  /** The paper's own numbers this figure is set beside. */
  paper: PaperNumber[];
}

export interface FigureGroup {
  name: string;
  figures: Figure[];
}

/** The legend entry of a series: its name and its source. */
export function seriesLabel(s: Series): string {
  return `${s.name}, ${SOURCE_LABELS[s.source]}`;
}
