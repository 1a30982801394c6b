import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { up } from '../operator/local/runner.js';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });

/** Runs one custom resource as a loopback testbed (every member a process) and returns `switchyard up`'s result. */
export async function runResource(resource: Record<string, unknown>): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  const file = join(dir, 'resource.yaml');
  writeFileSync(file, stringify(resource));
  // A member that dies fails a measurement rather than being restarted into it.
  const { result } = await up({ file, out: quiet, failFast: true });
  if (!result.ok) {
    const members = result.members as { expected: number; ready: number } | undefined;
    const check = result.linearizable === false ? `${String(result.linearizability_check)} (switchyard check ${String(result.history_file)}): `
      + `${(result.counterexample as string[]).slice(0, 3).join(' | ')}` : JSON.stringify(result.linearizable ?? 'not checked');
    throw new Error(`benchmark testbed ${String(resource.kind)} failed: ${JSON.stringify(result.failures)}; members ready ${members?.ready}/${members?.expected}; `
      + `linearizable ${check}`);
  }
  return result;
}
