// The member-restart sweep (not a test): node dist/test/support/sweep-member-restarts.js PATTERN FROM TO [SCALE]; STALE=1 for stale addresses, DETAIL=1 for where every member stands on a failure.
import { describeMembers, runMemberRestarts, type RestartPattern } from './hydra-member-restarts.js';

const [pattern, from, to, scale] = process.argv.slice(2);
for (let seed = Number(from); seed <= Number(to); seed++) {
  const t0 = Date.now();
  const run = runMemberRestarts(seed, pattern as RestartPattern, { scale: Number(scale ?? 1), staleAddresses: !!process.env.STALE });
  const ops = run.sim.history.length;
  console.log(`seed ${seed} ${pattern}: ${run.problems.length ? 'FAIL ' + run.problems.join('; ') : 'ok'} (${ops} ops, ${Date.now() - t0} ms, last restart ${run.lastRestart})`);
  if (run.problems.length && process.env.DETAIL) {
    for (const e of run.events) console.log(`  ${e.at} ${e.what} ${e.node}`);
    for (const l of describeMembers(run.sim)) console.log('  ' + l);
  }
}
