import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, medianRun, rotated } from '../bench/support/rounds.js';

test('median of odd and even counts, and of nothing', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('the median run is one real run (the lower middle one for an even count)', () => {
  const runs = [{ id: 'a', v: 5 }, { id: 'b', v: 1 }, { id: 'c', v: 9 }, { id: 'd', v: 7 }];
  assert.equal(medianRun(runs, (r) => r.v).id, 'a');
  assert.equal(medianRun(runs.slice(0, 3), (r) => r.v).id, 'a');
  assert.throws(() => medianRun([], () => 0), /no runs/);
});

test('each round starts one configuration later, and every configuration runs every round', () => {
  const items = ['x', 'y', 'z'];
  assert.deepEqual(rotated(items, 0), ['x', 'y', 'z']);
  assert.deepEqual(rotated(items, 1), ['y', 'z', 'x']);
  assert.deepEqual(rotated(items, 4), ['y', 'z', 'x']);
  assert.deepEqual(items, ['x', 'y', 'z']);
});
