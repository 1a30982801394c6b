import { CapybaraSim, type CapybaraSimOptions } from '../../node/capybara/simulation.js';

const MS = 1000;

/** Load with faults for 100 ms, 30 ms more without, then the clients drain and close. */
export function runSeed(options: CapybaraSimOptions): CapybaraSim {
  const sim = new CapybaraSim(options);
  sim.net.runUntil(100 * MS);
  sim.net.faults = { ...sim.net.faults, loss: 0, duplicate: 0, reorder: 0, jitterUs: 0 };
  sim.net.runUntil(130 * MS);
  sim.stopClients();
  sim.net.runUntil(600 * MS);
  return sim;
}

/**
 * What went wrong in a drained run (empty: nothing): a request duplicated, wrong, reset or never
 * answered, a connection left open, a session left on a server, a refusal. A target's wait for a
 * migration its origin had already given up is ended, and counted: not a fault.
 */
export function problemsOf(sim: CapybaraSim): string[] {
  const problems: string[] = [];
  for (const [id, c] of sim.clients) {
    const t = c.tally;
    if (t.duplicated || t.mismatched || t.resets) problems.push(`client ${id}: ${t.duplicated} duplicated, ${t.mismatched} mismatched, ${t.resets} resets`);
    if (c.outstanding) problems.push(`client ${id}: ${c.outstanding} requests never answered`);
    if (c.stack.connectionCount) problems.push(`client ${id}: ${c.stack.connectionCount} connections never closed`);
  }
  for (const [id, s] of sim.servers) if (s.sessions.size) problems.push(`server ${id} still holds ${s.sessions.size} sessions`);
  const rejections = sim.rejections.filter((r) => !r.includes('migration-expired'));
  if (rejections.length) problems.push(`rejections: ${rejections.slice(0, 3).join(' | ')}`);
  return problems;
}

/** Requests the clients completed. */
export const completedIn = (sim: CapybaraSim): number => [...sim.clients.values()].reduce((n, c) => n + c.tally.completed, 0);
