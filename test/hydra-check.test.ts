import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHydraHistories, type ReceiverHistory } from '../node/hydra/check.js';
import type { Groupcast } from '../node/hydra/messages.js';
import type { Delivery } from '../node/hydra/receiver.js';

const msg = (sequencer: number, clock: number, seq: number, msgId: number): Delivery => ({
  kind: 'message',
  msg: {
    type: 'groupcast', config: 1, sequencer, clock, groups: 1, stamps: [seq], client: 0, msgId, sentAt: 0, payload: new Uint8Array(),
  } satisfies Groupcast,
  epoch: 1,
  seq,
  arrivedAt: 0,
});
const drop = (sequencer: number, seq: number): Delivery => ({ kind: 'drop', sequencer, epoch: 1, seq });
const good = [msg(0, 10, 1, 1), msg(1, 11, 1, 2), drop(0, 2), msg(0, 30, 3, 3)];
const history = (receiver: number, deliveries: Delivery[]): ReceiverHistory => ({ receiver, group: 0, deliveries });

test('the checker accepts a correct history, with a drop at one receiver only', () => {
  const other = [msg(0, 10, 1, 1), msg(1, 11, 1, 2), msg(0, 20, 2, 9), msg(0, 30, 3, 3)];
  assert.deepEqual(checkHydraHistories([history(1, good), history(2, other)], true), []);
});

test('the checker catches every kind of violation', () => {
  const cases: [string, Delivery[][], RegExp][] = [
    ['out of order', [[msg(1, 11, 1, 2), msg(0, 10, 1, 1)]], /delivered after/],
    ['delivered twice', [[msg(0, 10, 1, 1), msg(0, 10, 1, 1)]], /slot 1 delivered when 2 was next/],
    ['slot skipped', [[msg(0, 10, 1, 1), msg(0, 30, 3, 3)]], /slot 3 delivered when 2 was next/],
    ['different message in a slot', [good, [msg(0, 10, 1, 7), msg(1, 11, 1, 2), drop(0, 2), msg(0, 30, 3, 3)]], /holds message/],
    ['slot missing at a receiver', [good, good.slice(0, 2)], /neither delivered nor drop-notified/],
  ];
  for (const [name, hs, pattern] of cases) {
    const problems = checkHydraHistories(hs.map((d, i) => history(i + 1, d)), true);
    assert.ok(problems.some((p) => pattern.test(p)), `${name}: ${JSON.stringify(problems)}`);
  }
});
