import { verdict } from '../../node/check/linearizability.js';
import type { HistoryCheck } from './histories.js';
import type { Snapshot } from './scrape.js';
import type { SystemReport } from './system-report.js';

/** The live part of a run: one progress line per scrape, and the timeline samples `--json` reports. */
export class LiveView {
  readonly timeline: Record<string, unknown>[] = [];
  private readonly tty: boolean;

  constructor(private readonly report: SystemReport, private readonly out: NodeJS.WritableStream, private readonly started: number, private prev: Snapshot) {
    this.tty = 'isTTY' in out && Boolean((out as NodeJS.WriteStream).isTTY);
  }

  /** Shows the progress since the previous scrape; `members` is how many should have answered, `restarts` per member so far. */
  show(now: Snapshot, members: number, restarts: Record<string, number> = {}): void {
    const t = ((Date.now() - this.started) / 1000).toFixed(0).padStart(3);
    const restarted = Object.values(restarts).reduce((a, n) => a + n, 0);
    const line = `[${t}s] ${this.report.progress(now, this.prev)} · up ${now.answering}/${members}${restarted ? ` · restarts ${restarted}` : ''}`;
    if (this.report.sample) this.timeline.push({ t_s: (now.at - this.started) / 1000, ...this.report.sample(now, this.prev) });
    this.out.write(this.tty ? `\r\x1b[2K${line}` : `${line}\n`);
    this.prev = now;
  }

  /** Ends the live line (on a terminal it is rewritten in place). */
  end(): void {
    if (this.tty) this.out.write('\n');
  }
}

export interface Observation<J extends object> {
  report: SystemReport<J>;
  kind: string;
  name: string;
  /** The measurement window: its first and last scrape, and its length. */
  base: Snapshot;
  final: Snapshot;
  seconds: number;
  /** The scrape after the load drained, the final one when it is just stopped, null while it still runs. */
  drained: Snapshot | null;
  members: { expected: number; ready: number };
  /** What already went wrong: members that died or are not ready, unreadable histories. */
  failures: string[];
  histories: HistoryCheck | null;
  /** Ctrl-C ended the window. */
  interrupted: boolean;
  timeline: Record<string, unknown>[];
  /** Restarts per member during the run (`switchyard up` restarts a member that dies); absent: not counted. */
  restarts?: Record<string, number>;
}

/** The fields of every run's `--json` result, whatever the system; the system's own follow (TestbedResult). */
export interface RunResult {
  ok: boolean;
  kind: string;
  name: string;
  members: { expected: number; ready: number };
  duration_s: number;
  failures: string[];
  restarts?: Record<string, number>;
  timeline?: Record<string, unknown>[];
  /** With client histories: their check. */
  linearizable?: boolean;
  committed?: number;
  history_file?: string;
  linearizability_check?: ReturnType<typeof verdict>;
  counterexample?: string[];
}

/** A run's `--json` result: the common fields and those of its system's report (SummaryJson). */
export type TestbedResult<J extends object = object> = RunResult & J;

/**
 * The verdict on a testbed and how it is shown, the same for `switchyard up` and `switchyard
 * status`: ok when every member is ready, nothing failed, the clients made progress in the
 * window, the system's own summary found no problem and (with client histories) they are
 * linearizable. Returns the summary table and the `--json` result.
 */
export function verdictOf<J extends object>(o: Observation<J>): { ok: boolean; table: [string, string][]; result: TestbedResult<J> } {
  const failures = [...o.failures];
  const { rows, json: own, problems } = o.report.summary(o.final, o.base, o.seconds, o.drained);
  const json: J & Partial<RunResult> = own;
  failures.push(...(problems ?? []));
  if (o.members.ready < o.members.expected && failures.length === 0) failures.push(`${o.members.expected - o.members.ready} members not ready`);
  if (o.report.work(o.final) <= o.report.work(o.base)) {
    const silent = o.final.answering < o.members.ready ? ` (only ${o.final.answering} of ${o.members.ready} ready members answered its last scrape)` : '';
    failures.push(`the clients made no progress in the ${o.seconds.toFixed(1)}s window${silent}`);
  }
  const h = o.histories;
  if (h && !h.linearizable) failures.push(h.complete ? 'the client histories are not linearizable' : 'linearizability unknown: the check ran out of its step budget');
  if (h) {
    rows.push(['linearizable', h.linearizable ? `yes (${h.committed} operations checked)`
      : h.complete ? `NO: ${h.counterexample.slice(0, 3).join(' | ')}` : 'UNKNOWN: the search ran out of its step budget']);
    if (!h.linearizable) rows.push(['history', `${h.file} (switchyard check ${h.file})`]);
    Object.assign(json, { linearizable: h.linearizable, committed: h.committed, history_file: h.file });
    if (!h.linearizable) Object.assign(json, { linearizability_check: verdict(h), counterexample: h.counterexample });
  }
  const ok = failures.length === 0;
  const table: [string, string][] = [
    ['testbed', `${o.kind}/${o.name}`],
    ['result', ok ? (o.interrupted ? 'ok (interrupted)' : 'ok') : `FAILED: ${failures.join('; ')}`],
    ['members ready', `${o.members.ready}/${o.members.expected}`],
    ['duration', `${o.seconds.toFixed(1)}s`],
    ...(o.restarts ? [['restarts', Object.entries(o.restarts).map(([m, n]) => `${m} ${n}`).join(', ') || 'none'] as [string, string]] : []),
    ...rows,
  ];
  return {
    ok,
    table,
    result: { ok, kind: o.kind, name: o.name, members: o.members, duration_s: o.seconds, failures, ...(o.restarts ? { restarts: o.restarts } : {}), ...json, ...(o.timeline.length ? { timeline: o.timeline } : {}) },
  };
}

/** The summary table as printed at the end of a run. */
export function formatTable(table: [string, string][]): string {
  const width = Math.max(...table.map(([k]) => k.length));
  return `\n${table.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}
