// Runs every compiled test file with Node's test runner; its summary is the last thing printed.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : []);
}

const files = find('dist/test').sort();
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
if (selected.length === 0) {
  // Node's runner given no file runs every test it finds: never what a filter asked for.
  console.error(`no test file matches ${only.map((o) => `"${o}"`).join(' or ')} (in dist/test; run npm run build first?)`);
  process.exit(2);
}
// The real-cluster suite marks the cluster it starts with this run's id.
const runId = randomUUID();
const prefetch = only.length === 0 ? prefetchTools() : null;
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...selected], { stdio: 'inherit', env: { ...process.env, SWITCHYARD_TEST_RUN: runId } });
// The suite tears its cluster down itself; if its process was killed before it could, this undoes
// the cluster's host changes here (quietly: the runner's summary stays the last line). A cluster
// another run started is left alone.
const clusterDir = process.env.SWITCHYARD_CLUSTER_DIR ?? '/var/tmp/switchyard-cluster';
let owner = '';
try { owner = readFileSync(join(clusterDir, 'run', 'test-run'), 'utf8').trim(); } catch { /* no cluster */ }
if (owner === runId) spawnSync('bash', ['scripts/real-cluster/down.sh', '--purge'], { stdio: 'ignore' });
// A prefetch still running (the suite ended early) stops with it: the next run's installers resume.
if (prefetch) {
  try { process.kill(-prefetch.pid, 'SIGTERM'); } catch { /* finished already */ }
}
process.exit(result.status ?? 1);

/**
 * A whole run as root on Linux (where the cluster suites run) builds their tools in the background
 * from the start (scripts/prefetch-tools.sh, at a lower priority): on a fresh machine that takes
 * ≈ 25 min on 2 cores, which then overlaps the suites that need no tool. Its log is in the tool cache;
 * SWITCHYARD_PREFETCH=0 turns it off.
 */
function prefetchTools() {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || process.env.SWITCHYARD_PREFETCH === '0') return null;
  const cache = process.env.SWITCHYARD_TOOLS ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'switchyard-tools');
  mkdirSync(cache, { recursive: true });
  const log = openSync(join(cache, 'prefetch.log'), 'w');
  const child = spawn('nice', ['-n', '10', 'bash', 'scripts/prefetch-tools.sh'], { stdio: ['ignore', log, log], detached: true });
  child.on('error', () => {});
  child.unref();
  return child;
}
