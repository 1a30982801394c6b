import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plan } from '../operator/plan/plan.js';
import { loadResourceFile } from '../operator/schema/resources.js';
import { spawnUp } from './support/up-process.js';

const FILE = 'examples/hydrapaxos.yaml';

test('up restarts a killed member of every role, as a kubelet restarts a pod: the configuration service, a sequencer, a client and a replica in turn; the run ends ok, linearizable, with the restarts counted', async () => {
  // One replica of the configuration service (a lone one restarted empty would forget the configuration).
  const config = plan(loadResourceFile(FILE)).members.find((m) => m.workload === 'config')!.name;
  // Ended by Ctrl-C once the last restart has been seen committing again (the duration is only a bound).
  const up = spawnUp(FILE, 600);
  try {
    assert.ok(await up.waitFor(/committed [1-9]/, 0, 120_000), `no commits within 120 s (or the run ended):\n${up.out.stderr}`);
    const victims = [config, 'sequencer-1', 'client-0', 'receiver-g0-1'];
    for (const [i, member] of victims.entries()) {
      const mark = up.out.stderr.length;
      process.kill(up.pidOf(member), 'SIGKILL');
      assert.ok(await up.waitFor(new RegExp(`${member} killed by SIGKILL; restarting it`), mark, 30_000), `${member}'s death not seen:\n${up.out.stderr.slice(mark)}`);
      // The restart is visible in the live line, and the clients commit again after it.
      assert.ok(await up.waitFor(new RegExp(`committed [1-9][^\\n]* restarts ${i + 1}\\n`), mark, 120_000),
        `no commits after ${member}'s restart within 120 s:\n${up.out.stderr.slice(mark)}`);
    }
    up.interrupt();
    assert.equal(await up.exited, 130, up.out.stderr);
    const result = up.result();
    const evidence = () => [up.out.stderr, ...up.logLines(/invariant broken|view change|removed|added/)].join('\n');
    assert.equal(result.ok, true, evidence());
    assert.deepEqual(result.restarts, Object.fromEntries(victims.map((m) => [m, 1])));
    assert.deepEqual(result.invariant_violations, {}, evidence());
    assert.equal(result.linearizable, true, evidence());
    for (const m of victims) assert.match(up.out.stderr, new RegExp(`\\n  restarts\\s+.*\\b${m} 1\\b`));
  } finally {
    up.interrupt();
  }
});
