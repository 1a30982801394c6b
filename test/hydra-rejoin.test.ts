import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config } from '../node/hydra/messages.js';
import { SEQ_WINDOW } from '../node/hydra/receiver.js';
import { configNodes } from '../node/hydra/topology.js';
import { flush as flushOf, groupcast, receiverHarness as harness } from './support/receiver-harness.js';

const flush = (config: number, sequencer: number, clock: number, seq: number) => flushOf(config, sequencer, clock, seq, true);

/**
 * A receiver restarted with empty state in a long-running testbed (issue 18): its sequencers'
 * numbers are far past the window and the configuration has moved on. It must learn the
 * configuration, start each stream at the first claim it accepts, and deliver from there in
 * order — not drop-notify every number it missed, nor refuse the claims as beyond the window.
 */

const FAR = 5 * SEQ_WINDOW;
test('a restarted receiver learns the current configuration and delivers from the first claims, far past the window', () => {
  const h = harness();
  h.r.start(h.ctx());
  assert.deepEqual(h.sent.map((s) => [s.to, s.msg.type]), configNodes(h.topology).map((c) => [c, 'configack']), 'it asks every configuration replica');
  // Sequencer 1 was re-admitted in configuration 3: its messages wait until that configuration is known.
  h.at(1_000_000_000);
  h.r.receive(h.ctx(), groupcast(3, 1, 1_000_000_010, FAR + 7));
  h.r.receive(h.ctx(), flush(1, 0, 1_000_000_000, FAR));
  assert.equal(h.deliveries.length, 0);
  const current: Config = {
    type: 'config', config: 3, active: [{ sequencer: 0, joined: 1, start: 0, incarnation: 5 }, { sequencer: 1, joined: 3, start: 900_000_000, incarnation: 6 }],
    finals: [{ sequencer: 1, config: 2, clock: 800_000_000, seqs: [3 * SEQ_WINDOW], joined: 1 }],
  };
  h.r.receive(h.ctx(), current);
  h.r.receive(h.ctx(), groupcast(3, 0, 1_000_000_020, FAR + 1));
  h.r.receive(h.ctx(), groupcast(3, 1, 1_000_000_030, FAR + 8));
  h.r.receive(h.ctx(), flush(3, 0, 1_000_000_040, FAR + 1));
  h.r.receive(h.ctx(), flush(3, 1, 1_000_000_040, FAR + 8));
  assert.deepEqual(h.deliveries.map((d) => [d.kind, d.kind === 'message' ? d.msg.sequencer : d.sequencer, d.seq]),
    [['message', 1, FAR + 7], ['message', 0, FAR + 1], ['message', 1, FAR + 8]]);
  assert.deepEqual(h.rejected, []);
  // From here the window holds again: a claim far past what was seen is refused.
  h.r.receive(h.ctx(), flush(3, 0, 1_000_000_050, FAR + 1 + 2 * SEQ_WINDOW));
  assert.deepEqual(h.rejected, ['beyond-window']);
});

test('a restarted receiver with a gap after its start drop-notifies only what is missing past it', () => {
  const h = harness();
  h.r.start(h.ctx());
  h.at(500_000);
  h.r.receive(h.ctx(), flush(1, 0, 400_000, FAR));
  h.r.receive(h.ctx(), flush(1, 1, 400_000, FAR));
  h.r.receive(h.ctx(), groupcast(1, 0, 400_100, FAR + 3));
  h.r.receive(h.ctx(), flush(1, 1, 400_200, FAR));
  h.at(600_000);
  h.r.timer(h.ctx(), 'gap');
  assert.deepEqual(h.deliveries.map((d) => [d.kind, d.seq]), [['drop', FAR + 1], ['drop', FAR + 2], ['message', FAR + 3]]);
});
