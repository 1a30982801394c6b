import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flush, receiverHarness } from './support/receiver-harness.js';

const MS = 1000;

/** Drives the harness's receiver: flushes from `flushing` every millisecond, failure detection every 5 ms (a quarter of its 20 ms timeout). */
function run(h: ReturnType<typeof receiverHarness>, from: number, to: number, flushing: number[]): void {
  for (let t = from; t <= to; t += MS) {
    h.at(t);
    for (const k of flushing) h.r.receive(h.ctx(), flush(1, k, t, 0));
    if (t % (5 * MS) === 0) h.r.timer(h.ctx(), 'fd');
  }
}

const suspects = (h: ReturnType<typeof receiverHarness>) =>
  [...new Set(h.sent.flatMap(({ msg }) => (msg.type === 'suspect' ? [msg.sequencer] : [])))];

test('a sequencer silent past the failure timeout is suspected; one that flushes is not', () => {
  const h = receiverHarness();
  h.r.start(h.ctx());
  run(h, MS, 10 * MS, [0, 1]);
  run(h, 11 * MS, 40 * MS, [0]);
  assert.deepEqual(suspects(h), [1]);
});

/**
 * A receiver process that was not running (a starved core on a loaded cluster) finds, when its
 * failure-detection timer fires, every sequencer silent since before the stall, while their
 * flushes wait unread in its socket: it suspected them all at once and the service removed them.
 * A check two periods late now suspects nobody; the next one, on time, decides.
 */
test('a failure check that runs late (the receiver itself stalled) suspects nobody; the next one, on time, does', () => {
  const h = receiverHarness();
  h.r.start(h.ctx());
  run(h, MS, 10 * MS, [0, 1]);
  // Stalled from 10 to 60 ms: the timer fires first, then the queued flushes are read.
  h.at(60 * MS);
  h.r.timer(h.ctx(), 'fd');
  assert.deepEqual(suspects(h), [], 'the late check suspected nobody');
  for (const k of [0, 1]) h.r.receive(h.ctx(), flush(1, k, 60 * MS, 0));
  run(h, 61 * MS, 70 * MS, [0, 1]);
  assert.deepEqual(suspects(h), [], 'both were heard again once the stall ended');
  // Really silent, sequencer 1 is suspected on time.
  run(h, 71 * MS, 100 * MS, [0]);
  assert.deepEqual(suspects(h), [1]);
});
