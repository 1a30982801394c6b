import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mock, test } from 'node:test';
import type { MemberProcess } from '../operator/local/members.js';
import { BACKOFF, Supervisor } from '../operator/local/supervisor.js';
import type { PlannedMember } from '../operator/plan/types.js';

/** A member process that dies when told to (`die`), and stops when stopped. */
class FakeProcess {
  exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  stopping = false;
  readonly startedAt = Date.now();
  readonly tail = ['starting', 'bad config: port in use'];
  constructor(readonly member: PlannedMember, private readonly onExit: (p: MemberProcess) => void) {}
  get running() {
    return this.exited === null;
  }
  die(signal: NodeJS.Signals | null = 'SIGKILL', code: number | null = null) {
    this.exited = { code, signal };
    this.onExit(this as unknown as MemberProcess);
  }
  async stop() {
    this.stopping = true;
    if (this.running) this.die('SIGTERM');
  }
}

const member = (name: string, expendable = false): PlannedMember => ({ name, workload: name.split('-')[0]!, phase: 0, expendable, load: name.startsWith('client') });

function supervisor(failFast: boolean) {
  const spawned: FakeProcess[] = [];
  const failures: string[] = [];
  let text = '';
  const out = new Writable({ write: (c, _e, cb) => ((text += c), cb()) });
  const s = new Supervisor({ failFast, out, fail: (r) => failures.push(r), spawn: (m, onExit) => {
    const p = new FakeProcess(m, onExit);
    spawned.push(p);
    return p as unknown as MemberProcess;
  } });
  return { s, spawned, failures, text: () => text };
}

test('a member that dies is restarted after a back-off doubling up to its cap, and its restarts are counted', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  try {
    const { s, spawned, failures, text } = supervisor(false);
    s.launch(member('config'));
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      spawned.at(-1)!.die();
      let waited = 0;
      while (spawned.length === i + 1) {
        mock.timers.tick(100);
        waited += 100;
      }
      delays.push(waited);
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 8000]);
    assert.equal(BACKOFF.capMs, 8000);
    assert.deepEqual(s.restarts(), { config: 6 });
    assert.equal(s.lost.length, 6);
    assert.deepEqual(failures, []);
    assert.match(text(), /config killed by SIGKILL; restarting it in 0\.5s \(restart 1\)/);
    // After running long enough, the back-off starts over.
    mock.timers.tick(BACKOFF.resetAfterMs);
    spawned.at(-1)!.die(null, 1);
    mock.timers.tick(500);
    assert.equal(spawned.length, 8);
    assert.match(text(), /config exited with code 1; restarting it in 0\.5s \(restart 7\); its last log lines:\n  starting\n  bad config: port in use/);
  } finally {
    mock.timers.reset();
  }
});

test('a member stopped on purpose is not restarted, even one stopped while it waits for its restart', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  try {
    const { s, spawned } = supervisor(false);
    s.launch(member('client-0'));
    s.launch(member('client-1'));
    await s.stop('client-0');
    spawned[1]!.die();
    assert.equal(s.wants('client-1'), true, 'waiting for its restart');
    await s.stop('client-1');
    mock.timers.tick(10_000);
    assert.equal(spawned.length, 2);
    assert.deepEqual(s.restarts(), {});
    assert.equal(s.wanted(), 0);
    assert.deepEqual(s.lost.map((l) => l.member), ['client-1']);
  } finally {
    mock.timers.reset();
  }
});

test('--fail-fast: a dying member fails the run with its last log lines, except one the protocol reconfigures around', () => {
  const { s, spawned, failures, text } = supervisor(true);
  s.launch(member('sequencer-0', true));
  s.launch(member('receiver-g0-0'));
  spawned[0]!.die();
  assert.deepEqual(failures, []);
  assert.match(text(), /sequencer-0 killed by SIGKILL; the protocol reconfigures around it/);
  assert.equal(s.wants('sequencer-0'), false, 'a live edit may start it again');
  spawned[1]!.die(null, 3);
  assert.deepEqual(failures, ['receiver-g0-0 exited with code 3']);
  assert.match(text(), /receiver-g0-0 exited with code 3 unexpectedly; its last log lines:\n  starting/);
  assert.equal(spawned.length, 2);
});
