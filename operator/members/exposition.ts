/**
 * A parser for the Prometheus text exposition format (version 0.0.4), what every member serves
 * on `/metrics`: `name{label="value",…} value [timestamp]` lines, `#` comments and blank lines.
 * A line that is not a sample is an error naming its line number, not a silent skip.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,)?/;

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fail = (why: string): never => {
      throw new Error(`metrics line ${i + 1}: ${why}: ${line.slice(0, 120)}`);
    };
    const name = NAME.exec(line)?.[0] ?? fail('no metric name');
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      rest = rest.slice(1);
      for (;;) {
        if (rest.trimStart().startsWith('}')) {
          rest = rest.trimStart().slice(1);
          break;
        }
        const m = LABEL.exec(rest) ?? fail('malformed label');
        labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        rest = rest.slice(m[0].length);
        if (!m[3] && !rest.trimStart().startsWith('}')) fail('labels not separated by ","');
      }
    }
    const [value, timestamp, extra] = rest.trim().split(/\s+/);
    if (value === undefined || value === '' || extra !== undefined || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) fail('expected a value and an optional timestamp');
    const v = value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : value === 'NaN' ? NaN : Number(value);
    if (Number.isNaN(v) && value !== 'NaN') fail(`"${value}" is not a number`);
    samples.push({ name, labels, value: v });
  });
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels` (0 when there are none). */
export function total(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Whether any sample is named `name` (a member that exports the metric at all). */
export const hasMetric = (samples: readonly Sample[], name: string) => samples.some((s) => s.name === name);
