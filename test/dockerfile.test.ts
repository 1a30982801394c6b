import assert from 'node:assert/strict';
import { execFileSync, execSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

interface Step {
  op: string;
  args: string;
}

/** The Dockerfile's instructions per stage (line continuations joined, comments dropped). */
function stages(): Step[][] {
  const lines = readFileSync('Dockerfile', 'utf8').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: Step[][] = [];
  for (const l of lines) {
    const [op, ...rest] = l.split(/\s+/);
    if (op === 'FROM') out.push([]);
    out.at(-1)!.push({ op: op!, args: rest.join(' ') });
  }
  return out;
}

test('the Dockerfile is multi-stage, pinned, non-root, with switchyard as its entrypoint', () => {
  const [build, runtime] = stages();
  assert.ok(build && runtime, 'two stages');
  for (const s of [build, runtime]) assert.match(s[0]!.args, /^node:\d+\.\d+\.\d+-[a-z]+-slim( AS \w+)?$/, 'base pinned to an exact Node release');
  assert.ok(build.some((s) => s.op === 'RUN' && /npm ci/.test(s.args)), 'dependencies from the lockfile');
  assert.ok(build.some((s) => s.op === 'RUN' && /npm prune --omit=dev/.test(s.args)), 'dev dependencies stay in the build stage');
  assert.match(runtime.find((s) => s.op === 'USER')!.args, /^[1-9]\d*:[1-9]\d*$/, 'a numeric non-root user');
  assert.equal(runtime.find((s) => s.op === 'ENTRYPOINT')!.args, '["node", "/app/dist/cli/switchyard.js"]');
});

test('the image\'s build steps run outside Docker and produce a working switchyard', () => {
  const [build, runtime] = stages();
  const root = mkdtempSync(join(tmpdir(), 'switchyard-image-'));
  const dirs: Record<string, string> = { build: join(root, 'build'), runtime: join(root, 'runtime') };
  const run = (stage: Step[], dir: string) => {
    mkdirSync(dir, { recursive: true });
    for (const s of stage) {
      if (s.op === 'COPY') {
        const from = s.args.match(/^--from=(\w+)\s+/);
        const parts = s.args.replace(/^--from=\w+\s+/, '').split(/\s+/);
        const dest = parts.pop()!.replace(/^\/app\/?/, '');
        for (const src of parts) {
          const source = from ? join(dirs[from[1]!]!, src.replace(/^\/app\//, '')) : src;
          const target = dest === './' || dest === '' || dest === '.' ? join(dir, src.split('/').pop()!) : join(dir, dest);
          cpSync(source, target, { recursive: true });
        }
      } else if (s.op === 'RUN') {
        execSync(s.args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_prefer_offline: 'true' } });
      }
    }
  };
  run(build!, dirs.build!);
  run(runtime!, dirs.runtime!);
  const cli = join(dirs.runtime!, 'dist', 'cli', 'switchyard.js');
  assert.match(execFileSync(process.execPath, [cli, '--help']).toString(), /switchyard up FILE/);
  assert.ok(!existsSync(join(dirs.runtime!, 'node_modules', 'typescript')), 'no dev dependencies in the image');
  assert.ok(existsSync(join(dirs.runtime!, 'node_modules', 'zod')));
  const file = join(root, 'tiny.yaml');
  writeFileSync(file, 'apiVersion: switchyard.dev/v1alpha1\nkind: SequencerGroup\nmetadata:\n  name: tiny\nspec:\n  sequencers: 1\n  groups: 1\n  receiversPerGroup: 1\n  workload:\n    clients: 1\n    ratePerClient: 200\n');
  const result = JSON.parse(execFileSync(process.execPath, [cli, 'up', file, '--duration', '2', '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }).toString());
  assert.equal(result.ok, true);
  assert.ok(result.delivered > 0);
});
