import type { TestbedResult } from '../report/summary.js';
import type { SummaryJson, SystemReport } from '../report/system-report.js';
import { Testbed, type TestbedOptions } from './testbed.js';

export type UpOptions = TestbedOptions;

export interface UpResult<J extends object = object> {
  exitCode: number;
  /** The machine-readable result (`--json`). */
  result: TestbedResult<J>;
}

/**
 * `switchyard up FILE`: plans the resource and runs every member as a local process on
 * loopback; shows live progress; applies live edits of the file's scalable fields through the
 * protocol; prints a summary (and `--json` a result object) at the end. With `report` (a
 * bench), the result carries that system's fields, typed; a resource of another system is refused.
 */
export async function up(opts: UpOptions): Promise<UpResult>;
export async function up<R extends SystemReport>(opts: UpOptions, report: R): Promise<UpResult<SummaryJson<R>>>;
export async function up(opts: UpOptions, report?: SystemReport): Promise<UpResult> {
  const testbed = await Testbed.open(opts, report);
  await testbed.launch();
  await testbed.warmUp();
  const window = await testbed.measure();
  const histories = window.opened ? await testbed.collectHistories() : null;
  const drained = window.opened ? await testbed.drain(window.seconds) : null;
  await testbed.stop();
  return testbed.verdict(window, histories, drained);
}
