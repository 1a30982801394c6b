import { type Figure, SOURCE_LABELS } from './figure.js';

export interface FigureFiles {
  figure: Figure;
  svg: string;
  png: string;
  /** Milliseconds from data to PNG. */
  render_ms: number;
}

const sentence = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** index.md: each figure as an image, what was run, and the paper's own numbers beside it. */
export function indexMarkdown(groups: { name: string; figures: FigureFiles[] }[], when: string, command: string): string {
  const parts = [
    "# Switchyard: the papers' figures", '',
    `Generated ${when} by \`${command}\` on this machine (${process.platform}, Node ${process.version}).`,
    `Series marked "${SOURCE_LABELS.model}" come from a model of the paper's testbed; "${SOURCE_LABELS.loopback}" from real processes on this machine's loopback; `
      + `"${SOURCE_LABELS.paper}" are the paper's own numbers, listed with their sources under the figure.`,
    'Each figure is here as SVG, with a PNG beside it.', '',
  ];
  for (const g of groups) {
    parts.push(`## ${g.name}`, '');
    for (const f of g.figures) {
      parts.push(`### ${f.figure.title}`, '', `![${f.figure.title}](${f.svg})`, '',
        `${sentence(f.figure.caption)} [PNG](${f.png}); rendered in ${f.render_ms.toFixed(0)} ms.`, '',
        `This run: ${f.figure.finding}.`, '', "The paper's numbers:", '');
      for (const n of f.figure.paper) parts.push(`- ${n.claim}. Source: ${n.source}${n.verified ? '' : ' (unverified)'}.`);
      parts.push('');
    }
  }
  parts.push('## Rerun', '', '`switchyard bench paper [--quick] [--json] [--out DIR] [--seconds N]` (default DIR: `bench-results/paper/`; --seconds: the length of each loopback run).', '');
  return parts.join('\n');
}
