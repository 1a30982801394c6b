import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';

/** The TypeScript sources of the tree (read from the repository, not dist/: it runs from a clean clone). */
const ROOTS = ['node', 'operator', 'bench', 'cli'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** Folder → the folders its files import (relative specifiers only: packages are not layers). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of ROOTS.flatMap(sources)) {
    const from = dirname(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*?from '(\.[^']+)'/gm)) {
      const to = dirname(normalize(join(from, spec!)));
      if (to !== from) edges.add(relative('.', to));
    }
  }
  return graph;
}

/**
 * Folders that still import each other, being untangled (issue 19, point 3): the member process
 * (runtime/process.ts) reads every system's document (config.ts, members.ts) until it takes a
 * narrow member configuration; each system's member wiring (its member.ts) lives in its protocol
 * folder and reads the document; Hydra starts HydraPaxos replicas. Nothing may join this list.
 */
const UNTANGLING = new Set([
  'node ↔ node/runtime', 'node ↔ node/hydra', 'node ↔ node/neobft', 'node ↔ node/capybara', 'node/hydra ↔ node/hydrapaxos',
]);

test('layers point one way: no two folders import each other (beyond those being untangled)', () => {
  const graph = folderGraph();
  const mutual = [...graph].flatMap(([a, to]) => [...to].filter((b) => a < b && graph.get(b)?.has(a)).map((b) => `${a} ↔ ${b}`));
  assert.deepEqual(mutual.filter((pair) => !UNTANGLING.has(pair)), []);
  // The layers this step separated: the network simulation implements the runtime's transport
  // and clock; the checker's models define the operations the applications execute.
  for (const [lower, upper] of [['node/runtime', 'node/net'], ['node/check', 'node/apps']]) {
    assert.ok(!graph.get(lower)?.has(upper!), `${lower} imports ${upper}, a layer above it`);
  }
});
