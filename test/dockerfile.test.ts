import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

/**
 * The Dockerfile's shape. The image itself is built with podman and run by a kubelet in the
 * real-cluster suite (test/real-cluster.test.ts), on a local base given as NODE_IMAGE.
 */
interface Step {
  op: string;
  args: string;
}

/** The Dockerfile's instructions: global ones (before the first FROM), then per stage. */
function parseDockerfile(): { global: Step[]; stages: Step[][] } {
  const lines = readFileSync('Dockerfile', 'utf8').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const global: Step[] = [];
  const stages: Step[][] = [];
  for (const l of lines) {
    const [op, ...rest] = l.split(/\s+/);
    if (op === 'FROM') stages.push([]);
    (stages.at(-1) ?? global).push({ op: op!, args: rest.join(' ') });
  }
  return { global, stages };
}

test('the Dockerfile is multi-stage, pinned, non-root, with switchyard as its entrypoint', () => {
  const { global, stages: [build, runtime] } = parseDockerfile();
  assert.ok(build && runtime, 'two stages');
  const base = global.find((s) => s.op === 'ARG' && s.args.startsWith('NODE_IMAGE='));
  assert.ok(base, 'the base image is a build argument');
  assert.match(base.args, /^NODE_IMAGE=node:\d+\.\d+\.\d+-[a-z]+-slim$/, 'its default is pinned to an exact Node release');
  for (const s of [build, runtime]) assert.match(s[0]!.args, /^\$\{NODE_IMAGE\}( AS \w+)?$/, 'both stages on the same base');
  assert.ok(build.some((s) => s.op === 'RUN' && /npm ci/.test(s.args)), 'dependencies from the lockfile');
  assert.ok(build.some((s) => s.op === 'RUN' && /npm prune --omit=dev/.test(s.args)), 'dev dependencies stay in the build stage');
  assert.match(runtime.find((s) => s.op === 'USER')!.args, /^[1-9]\d*:[1-9]\d*$/, 'a numeric non-root user');
  assert.equal(runtime.find((s) => s.op === 'ENTRYPOINT')!.args, '["node", "/app/dist/cli/switchyard.js"]');
});
