import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeId } from '../node/runtime/core.js';
import { SeededRandom } from '../node/runtime/random.js';
import { CapybaraSim, type CapybaraSimOptions, defaultCapybaraSimOptions } from '../node/capybara/simulation.js';
import { SWITCH, clientNode, endpointKey, serverNode } from '../node/capybara/topology.js';

/**
 * Every MigratingService member may restart with empty state (a pod restarted by Kubernetes): per
 * seed one member — the switch, a server or a client host — crashes and comes back empty, during
 * load and, with forced migrations on, during migrations. Checked per seed: no request runs twice
 * on a connection (the INCR counters), the requests executed but never answered are at most the
 * ones the clients counted as cut off by a reset or timeout plus those a crashed client had
 * outstanding, a switch or client restart disturbs no other connection (no reset, no timeout), every
 * connection is held by exactly one server once faults stop, progress resumes, and everything
 * drains at the end.
 */

const MS = 1000;
const SEEDS = 240;
const VICTIMS = ['switch', 'server', 'client'] as const;

type Victim = (typeof VICTIMS)[number];

function scenario(seed: number): { name: string; kind: Victim; victim: NodeId; crashAt: number; downFor: number; options: CapybaraSimOptions } {
  const plan = new SeededRandom(seed * 7 + 3);
  const servers = 2 + (seed % 2);
  const kind = VICTIMS[seed % 3]!;
  const victim = kind === 'switch' ? SWITCH : kind === 'server' ? serverNode(Math.floor(plan.next() * servers)) : clientNode(Math.floor(plan.next() * 2));
  const migrating = Math.floor(seed / 3) % 2 === 0;
  const options: CapybaraSimOptions = {
    ...defaultCapybaraSimOptions,
    seed,
    servers,
    workload: { ...defaultCapybaraSimOptions.workload, connections: 6, rate: 1500, stepAtUs: 10 * MS, stateBytes: 64, app: seed % 5 === 0 ? 'echo' : 'kv' },
    faults: { delayUs: 20, jitterUs: 10, loss: 0.01 },
    // Forced migrations every 1.5 ms: the crash lands in the middle of some.
    forcedEveryUs: migrating ? 1_500 : null,
    // Connections of a dead client, or to a dead server, are found out within 30 ms.
    keepaliveUs: 5_000,
  };
  const crashAt = Math.round((10 + plan.next() * 30) * MS);
  const downFor = Math.round((0.2 + plan.next() * 5) * MS);
  return { kind, name: `${kind} ${victim} down ${crashAt}-${crashAt + downFor} µs${migrating ? ', forced migrations' : ''}`, victim, crashAt, downFor, options };
}

interface Totals {
  completed: number;
  cut: number;
  resets: number;
  recovered: number;
  lostMigrations: number;
}

function runSeed(seed: number, totals: Totals): string[] {
  const { kind, victim, crashAt, downFor, options } = scenario(seed);
  const sim = new CapybaraSim(options);
  sim.net.runUntil(crashAt);
  sim.crash(victim);
  sim.net.runUntil(crashAt + downFor);
  sim.restart(victim, false);
  sim.net.runUntil(60 * MS);
  sim.net.faults = { ...sim.net.faults, loss: 0, jitterUs: 0 };
  const problems: string[] = [];
  const before = new Map([...sim.clients].map(([id, c]) => [id, c.tally.completed]));
  sim.net.runUntil(100 * MS);
  // Once faults stop every open client connection is held by exactly one server (or is between two, migrating).
  for (const [id, c] of sim.clients) {
    if (c.tally.completed <= before.get(id)!) problems.push(`client ${id} made no progress after the faults stopped`);
    for (const conn of c.stack.all()) {
      if (conn.state !== 'ESTABLISHED') continue;
      const key = endpointKey(conn.local.ip, conn.local.port);
      const holds = [...sim.servers.values()].map((s) => s.holding(key));
      const sessions = holds.filter((h) => h === 'session').length;
      if (sessions > 1 || (sessions === 0 && !holds.includes('migrating'))) problems.push(`client ${id} port ${conn.local.port}: held as ${JSON.stringify(holds)}`);
    }
  }
  sim.stopClients();
  sim.net.runUntil(400 * MS);
  let completed = 0;
  let cut = 0;
  for (const c of sim.crashedClients) {
    completed += c.tally.completed;
    cut += c.tally.cut + c.outstanding;
    if (c.tally.duplicated || c.tally.mismatched) problems.push(`crashed client ${c.params.id}: ${c.tally.duplicated} duplicated, ${c.tally.mismatched} mismatched`);
  }
  for (const [id, c] of sim.clients) {
    const t = c.tally;
    completed += t.completed;
    cut += t.cut;
    if (t.duplicated || t.mismatched) problems.push(`client ${id}: ${t.duplicated} duplicated, ${t.mismatched} mismatched`);
    // A restarted switch loses nothing; a restarted client disturbs no other client.
    if (kind !== 'server' && id !== victim && (t.resets || t.timeouts)) problems.push(`client ${id}: ${t.resets} resets, ${t.timeouts} timeouts though no server restarted`);
    totals.resets += t.resets;
    if (c.outstanding) problems.push(`client ${id}: ${c.outstanding} requests never answered`);
    if (c.stack.connectionCount) problems.push(`client ${id}: ${c.stack.connectionCount} connections never closed`);
  }
  // Every request executed and never answered is one the restart itself cut off, and counted.
  const unanswered = sim.executed - completed;
  if (unanswered < 0 || unanswered > cut) problems.push(`${sim.executed} requests executed, ${completed} answered, only ${cut} counted as cut off`);
  for (const [id, s] of sim.servers) if (s.sessions.size) problems.push(`server ${id} still holds ${s.sessions.size} sessions`);
  totals.completed += completed;
  totals.cut += cut;
  totals.recovered += sim.recovered;
  totals.lostMigrations += sim.migrations.filter((m) => m.result === 'lost').length;
  return problems;
}

test(`Capybara restarts over ${SEEDS} seeds: the switch, a server or a client comes back empty; nothing lost but what the restart cut off, and that counted`, () => {
  const failures: string[] = [];
  const seed0 = process.env.CAPY_SEED ? Number(process.env.CAPY_SEED) : null;
  const totals: Totals = { completed: 0, cut: 0, resets: 0, recovered: 0, lostMigrations: 0 };
  for (let seed = seed0 ?? 1; seed <= (seed0 ?? SEEDS); seed++) {
    const problems = runSeed(seed, totals);
    if (problems.length) failures.push(`seed ${seed} (${scenario(seed).name}): ${problems.slice(0, 4).join('; ')} — replay: CAPY_SEED=${seed} node scripts/run-tests.mjs capybara-restart-sim`);
    if (failures.length === 10) break;
  }
  assert.deepEqual(failures, []);
  if (seed0 === null) {
    assert.ok(totals.recovered > 0, 'some restarted switch rebuilt directory entries from the servers');
    assert.ok(totals.cut > 0 && totals.resets > 0, 'some restart cut requests off');
  }
  console.log(`  ${SEEDS} seeds: ${totals.completed} requests answered, ${totals.cut} cut off by a restart (counted), ${totals.resets} resets, ${totals.recovered} directory entries recovered, ${totals.lostMigrations} migrations lost with a restarted target`);
});
