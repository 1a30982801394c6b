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

/** Whether `to` can be reached from `from` along the graph's edges. */
function reaches(graph: Map<string, Set<string>>, from: string, to: string, seen = new Set<string>()): boolean {
  if (from === to) return true;
  if (seen.has(from)) return false;
  seen.add(from);
  return [...(graph.get(from) ?? [])].some((next) => reaches(graph, next, to, seen));
}

test('layers point one way: no import cycle between folders, however long', () => {
  const graph = folderGraph();
  const cyclic = [...graph].flatMap(([a, to]) => [...to].filter((b) => reaches(graph, b, a)).map((b) => `${a} → ${b}`));
  assert.deepEqual(cyclic, []);
  // The layers issue 19 separated: the network simulation implements the runtime's transport and
  // clock; the checker's models define the operations the applications execute; the runtime runs a
  // member from a narrow configuration, knowing no system; each system's member wiring (node/wiring)
  // sits above the protocols and the testbed document (node/config.ts, node/members.ts).
  const protocols = ['node/hydra', 'node/hydrapaxos', 'node/neobft', 'node/pbft', 'node/zyzzyva', 'node/capybara', 'node/vr', 'node/apps', 'node/protocol'];
  for (const [lower, upper] of [['node/runtime', 'node/net'], ['node/check', 'node/apps'], ['node/runtime', 'node'],
    ...protocols.flatMap((p) => [[p, 'node'], [p, 'node/wiring']])]) {
    assert.ok(!graph.get(lower!)?.has(upper!), `${lower} imports ${upper}, a layer above it`);
  }
});
