import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config } from '../node/hydra/messages.js';
import { flush, groupcast, receiverHarness as harness } from './support/receiver-harness.js';

/**
 * Issue 18 ("every member may restart"), found by the member-restart sweep (follower seed 9): a
 * receiver skipped a whole sequencer incarnation without a single drop notification, and as a
 * HydraPaxos leader its log lacked slots its followers held. Two ways, both fixed in `Receiver.install`:
 * - an incarnation was added while the receiver was there, none of its messages or flushes reached
 *   the receiver (a lost groupcast; its flushes lost on the way through a restarted aggregator
 *   whose address was stale), and it was removed again: the stream had never been placed, and an
 *   unplaced stream was dropped without its final flush;
 * - an incarnation joined and was removed again while the receiver was behind (it installed
 *   neither configuration, jumping past both): the receiver never knew the stream existed.
 * Either way every receiver must deliver each of the incarnation's slots or drop-notify it.
 */

/** Configuration n of sequencers 0 and 1 (joined in 1, admitted), plus `extra`, with `finals`. */
function config(n: number, extra: Config['active'], finals: Config['finals'] = []): Config {
  const base = [0, 1].map((k) => ({ sequencer: k, joined: 1, start: 0, incarnation: 10 + k }));
  return { type: 'config', config: n, active: [...base, ...extra].sort((a, b) => a.sequencer - b.sequencer), finals };
}

/** A receiver in configuration 1 that has delivered sequencer 0's and 1's first messages. */
function positioned() {
  const h = harness();
  h.r.start(h.ctx());
  h.at(1000);
  h.r.receive(h.ctx(), config(1, []));
  h.r.receive(h.ctx(), groupcast(1, 0, 1000, 1));
  h.r.receive(h.ctx(), groupcast(1, 1, 1010, 1));
  h.r.receive(h.ctx(), flush(1, 0, 1020, 1));
  h.r.receive(h.ctx(), flush(1, 1, 1020, 1));
  assert.deepEqual(h.got(), ['0.1.1@1000', '1.1.1@1010']);
  return h;
}

test('an incarnation added and removed again, of which nothing reached the receiver, is drop-notified, not skipped', () => {
  const h = positioned();
  // Sequencer 2 joins in configuration 2 (start frontier 2000); its only message (seq 1 at clock
  // 2100) and all its flushes are lost on the way to this receiver.
  h.at(2000);
  h.r.receive(h.ctx(), config(2, [{ sequencer: 2, joined: 2, start: 2000, incarnation: 7 }]));
  h.r.receive(h.ctx(), groupcast(2, 0, 2200, 2));
  h.r.receive(h.ctx(), flush(2, 0, 2300, 2));
  h.r.receive(h.ctx(), flush(2, 1, 2300, 1));
  assert.deepEqual(h.got(), ['0.1.1@1000', '1.1.1@1010'], 'the unheard joiner holds the frontier at its start');
  // It is removed in configuration 3: its final flush says group 0 got number 1.
  h.at(3000);
  h.r.receive(h.ctx(), config(3, [], [{ sequencer: 2, joined: 2, config: 3, clock: 2150, seqs: [1] }]));
  h.r.receive(h.ctx(), flush(3, 0, 3000, 2));
  h.r.receive(h.ctx(), flush(3, 1, 3000, 1));
  assert.deepEqual(h.got(), ['0.1.1@1000', '1.1.1@1010', 'drop 2.2.1', '0.1.2@2200'],
    'its slot is drop-notified no later than its place (clock 2100), before what follows it');
});

test('an incarnation that joined and left while the receiver was behind is delivered from what it holds, the rest drop-notified', () => {
  const h = positioned();
  h.at(1500);
  h.r.receive(h.ctx(), groupcast(1, 0, 1500, 2));
  h.r.receive(h.ctx(), flush(1, 0, 1900, 2));
  h.r.receive(h.ctx(), flush(1, 1, 1900, 1));
  // Configuration 2 (sequencer 2 joins, start frontier 2000) and configuration 3 (it is removed)
  // never reach this receiver; sequencer 2's first message, stamped in configuration 2, does.
  h.at(2100);
  h.r.receive(h.ctx(), groupcast(2, 2, 2100, 1));
  assert.deepEqual(h.got(), ['0.1.1@1000', '1.1.1@1010', '0.1.2@1500']);
  h.at(4000);
  h.r.receive(h.ctx(), config(4, [], [{ sequencer: 2, joined: 2, config: 3, clock: 2400, seqs: [2] }]));
  h.r.receive(h.ctx(), flush(4, 0, 4000, 2));
  h.r.receive(h.ctx(), flush(4, 1, 4000, 1));
  assert.deepEqual(h.got(), ['0.1.1@1000', '1.1.1@1010', '0.1.2@1500', '2.2.1@2100', 'drop 2.2.2']);
  assert.deepEqual(h.rejected, []);
});

test('a restarted receiver finishes an incarnation it never placed from its final flush, as from a first claim', () => {
  const h = harness();
  h.r.start(h.ctx());
  // Restarted: it learns configuration 5 (sequencer 2 joined in 5) and hears nothing of sequencer 2.
  h.at(5000);
  h.r.receive(h.ctx(), config(5, [{ sequencer: 2, joined: 5, start: 5000, incarnation: 7 }]));
  h.r.receive(h.ctx(), groupcast(5, 0, 5100, 1));
  h.r.receive(h.ctx(), groupcast(5, 1, 5100, 1));
  h.r.receive(h.ctx(), flush(5, 0, 5200, 1));
  h.r.receive(h.ctx(), flush(5, 1, 5200, 1));
  assert.deepEqual(h.got(), [], 'the unplaced stream holds the frontier');
  h.at(6000);
  h.r.receive(h.ctx(), config(6, [], [{ sequencer: 2, joined: 5, config: 6, clock: 5300, seqs: [3] }]));
  assert.deepEqual(h.got().filter((d) => d.includes(' 2.5.')), ['drop 2.5.1', 'drop 2.5.2', 'drop 2.5.3']);
});

test('a restarted receiver that takes a peer\'s position finishes an incarnation the position does not list and the peer\'s configuration removed', () => {
  // Follower seed 13: a restarted receiver, cut off from the service, took a peer's state in
  // configuration 114; incarnation 1.111 had joined after the peer's position and left again,
  // so the position did not list it and the receiver had never known it.
  const h = harness();
  h.r.start(h.ctx());
  h.at(5000);
  const peer = config(4, [], [{ sequencer: 2, joined: 2, config: 3, clock: 2400, seqs: [2] }]);
  h.r.resume(h.ctx(), peer, [{ sequencer: 0, epoch: 1, next: 3 }, { sequencer: 1, epoch: 1, next: 2 }], { clock: 2000, sequencer: 1 });
  h.r.receive(h.ctx(), flush(4, 0, 5000, 2));
  h.r.receive(h.ctx(), flush(4, 1, 5000, 1));
  assert.deepEqual(h.got(), ['drop 2.2.1', 'drop 2.2.2']);
});
