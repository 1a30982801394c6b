import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogEntry } from '../node/hydrapaxos/messages.js';
import { ReleaseBuffer } from '../node/hydrapaxos/release-buffer.js';

const entry = (sequencer: number, seq: number, clock: number): LogEntry =>
  ({ slot: { sequencer, epoch: 1, seq }, clock, groups: 1, stamps: [seq], request: new Uint8Array() });
const order = (es: LogEntry[]) => es.map((e) => `${e.slot.sequencer}/${e.slot.seq}@${e.clock}`);

test('a recovered message waits until Hydra has delivered past its place (the order of hydratxn-sim seed 376)', () => {
  const b = new ReleaseBuffer();
  // Sequencer 0's first message (clock 20062) is drop-notified first and recovered from a peer at once...
  b.dropped({ sequencer: 0, epoch: 1, seq: 1 });
  b.recovered(entry(0, 1, 20062));
  assert.deepEqual(order(b.drain()), [], 'Hydra has not delivered up to 20062: something may still come before it');
  // ...then Hydra drop-notifies sequencer 2's earlier message (20053) and delivers two later ones.
  b.dropped({ sequencer: 2, epoch: 1, seq: 1 });
  b.delivered(entry(0, 2, 20068));
  b.delivered(entry(1, 1, 20069));
  assert.deepEqual(order(b.drain()), [], 'the drop of 20053 still precedes everything');
  b.recovered(entry(2, 1, 20053));
  assert.deepEqual(order(b.drain()), ['2/1@20053', '0/1@20062', '0/2@20068', '1/1@20069']);
});

test('Hydra\'s delivery point alone releases a recovered message when nothing else is delivered', () => {
  const b = new ReleaseBuffer();
  b.dropped({ sequencer: 1, epoch: 1, seq: 1 });
  b.recovered(entry(1, 1, 500));
  b.reached({ clock: 499, sequencer: 3 });
  assert.deepEqual(order(b.drain()), []);
  b.reached({ clock: 500, sequencer: 1 });
  assert.deepEqual(order(b.drain()), ['1/1@500']);
  assert.equal(b.size, 0);
});

test('a NO-OP slot disappears and lets what follows it go', () => {
  const b = new ReleaseBuffer();
  b.delivered(entry(0, 1, 10));
  b.dropped({ sequencer: 1, epoch: 1, seq: 1 });
  b.delivered(entry(0, 2, 30));
  assert.deepEqual(order(b.drain()), ['0/1@10']);
  b.noop({ sequencer: 1, epoch: 1, seq: 1 });
  assert.deepEqual(order(b.drain()), ['0/2@30']);
});
