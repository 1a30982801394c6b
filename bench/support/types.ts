/** What `switchyard bench` passes every bench, and what each returns (bench.ts prints and writes it). */
export interface BenchOptions {
  json: boolean;
  out?: string;
  seconds?: number;
  /** Rounds of the compared runs, for benches that compare testbeds (see rounds.ts). */
  rounds?: number;
  /** A shorter run (bench paper). */
  quick?: boolean;
  /** Validate the cost model against loopback runs (bench model). */
  validate?: boolean;
  /** The smallest run that still writes every figure and field (bench paper's smoke test). */
  tiny?: boolean;
}

export interface BenchResult {
  name: string;
  json: Record<string, unknown>;
  /** Titled tables: [title, header, rows]. */
  tables: [string, string[], string[][]][];
  /** Titled plots, already drawn as text (they go into the report as code blocks). */
  plots?: [string, string][];
}
