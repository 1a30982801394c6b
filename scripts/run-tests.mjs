// Runs every compiled test file with Node's test runner; its summary is the last thing printed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : []);
}

const files = find('dist/test').sort();
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...selected], { stdio: 'inherit' });
// The real-cluster suite tears its cluster down itself; if its process was killed before it could,
// this undoes the cluster's host changes here (quietly: the runner's summary stays the last line).
const clusterDir = process.env.SWITCHYARD_CLUSTER_DIR ?? '/var/tmp/switchyard-cluster';
if (existsSync(join(clusterDir, 'run'))) spawnSync('bash', ['scripts/real-cluster/down.sh', '--purge'], { stdio: 'ignore' });
process.exit(result.status ?? 1);
