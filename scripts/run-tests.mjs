// Runs every compiled test file with Node's test runner; its summary is the last thing printed.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : []);
}

const files = find('dist/test').sort();
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
// The real-cluster suite marks the cluster it starts with this run's id.
const runId = randomUUID();
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...selected], { stdio: 'inherit', env: { ...process.env, SWITCHYARD_TEST_RUN: runId } });
// The suite tears its cluster down itself; if its process was killed before it could, this undoes
// the cluster's host changes here (quietly: the runner's summary stays the last line). A cluster
// another run started is left alone.
const clusterDir = process.env.SWITCHYARD_CLUSTER_DIR ?? '/var/tmp/switchyard-cluster';
let owner = '';
try { owner = readFileSync(join(clusterDir, 'run', 'test-run'), 'utf8').trim(); } catch { /* no cluster */ }
if (owner === runId) spawnSync('bash', ['scripts/real-cluster/down.sh', '--purge'], { stdio: 'ignore' });
process.exit(result.status ?? 1);
