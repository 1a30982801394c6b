import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { up } from '../../operator/local/runner.js';
import type { TestbedResult } from '../../operator/report/summary.js';
import type { SummaryJson, SystemReport } from '../../operator/report/system-report.js';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });

/**
 * Runs one custom resource as a loopback testbed (every member a process) and returns `switchyard
 * up`'s result, with the fields of `report`, the report of the resource's system.
 */
export async function runResource<R extends SystemReport>(resource: Record<string, unknown>, report: R): Promise<TestbedResult<SummaryJson<R>>> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  const file = join(dir, 'resource.yaml');
  writeFileSync(file, stringify(resource));
  // A member that dies fails a measurement rather than being restarted into it.
  const { result } = await up({ file, out: quiet, failFast: true }, report);
  if (!result.ok) {
    const check = result.linearizable === false ? `${String(result.linearizability_check)} (switchyard check ${String(result.history_file)}): `
      + `${(result.counterexample ?? []).slice(0, 3).join(' | ')}` : JSON.stringify(result.linearizable ?? 'not checked');
    throw new Error(`benchmark testbed ${String(resource.kind)} failed: ${JSON.stringify(result.failures)}; members ready ${result.members.ready}/${result.members.expected}; `
      + `linearizable ${check}`);
  }
  return result;
}
