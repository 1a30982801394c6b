import type { Snapshot } from './scrape.js';

/**
 * One line of a system's summary: a row of the table `switchyard up` prints, a field of its
 * `--json` result, or both (the same value, written once).
 */
export interface Entry {
  readonly row?: readonly [string, string];
  readonly json?: unknown;
}

/** A system's summary as one table: entries keyed by their `--json` field, in the order the rows print. */
export type Table = Record<string, Entry>;

/** The `--json` fields of a table: its entries that carry a value. */
export type JsonOf<T extends Table> = { -readonly [K in keyof T as T[K] extends { json: unknown } ? K : never]: T[K] extends { json: infer V } ? V : never };

/** Rows for the summary table, the system's own `--json` fields, and what fails the run. */
export interface Summary<J extends object> {
  rows: [string, string][];
  json: J;
  problems?: string[];
}

/**
 * A table's rows (in its order) and fields, printed above `under` (a summary it builds on, e.g.
 * HydraPaxos's over Hydra's), whose fields of the same name it overrides.
 */
export function tabulate<T extends Table, U extends object = Record<never, never>>(table: T, under?: Summary<U>, problems?: string[]): Summary<Omit<U, keyof JsonOf<T>> & JsonOf<T>> {
  const rows = Object.values(table).flatMap((e) => (e.row ? [[e.row[0], e.row[1]] as [string, string]] : []));
  const own = Object.fromEntries(Object.entries(table).filter(([, e]) => 'json' in e).map(([k, e]) => [k, e.json])) as JsonOf<T>;
  return { rows: [...rows, ...(under?.rows ?? [])], json: { ...under?.json, ...own } as Omit<U, keyof JsonOf<T>> & JsonOf<T>, ...(problems ? { problems } : {}) };
}

/** What `switchyard up` and `switchyard status` show for one system: a live progress line and the summary. */
export interface SystemReport<J extends object = object> {
  progress(now: Snapshot, prev: Snapshot): string;
  /** What the clients have got done so far (a counter): a window in which it does not grow saw no progress. */
  work(s: Snapshot): number;
  /** One point of the run's timeline (`timeline` in `--json`), taken with each progress line. */
  sample?(now: Snapshot, prev: Snapshot): Record<string, unknown>;
  /**
   * The summary table and the system's own fields for `--json`; `drained` is the scrape after the
   * load finished (the plan's drain), for what only the end can tell, or null while the load
   * still runs (`switchyard status` on a live testbed). `problems` fail the run.
   */
  summary(final: Snapshot, base: Snapshot, seconds: number, drained: Snapshot | null): Summary<J>;
}

/** The `--json` fields a system's report adds to a run's result: its summary's, and the timeline of its samples. */
export type SummaryJson<R extends SystemReport> = ReturnType<R['summary']>['json'] & {
  timeline?: ({ t_s: number } & (R['sample'] extends (now: Snapshot, prev: Snapshot) => infer S ? S : never))[];
};
