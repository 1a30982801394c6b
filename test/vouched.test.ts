import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Vouched } from '../node/apps/vouched.js';

test('a view is taken once f+1 replicas named it or a later one, never from f alone', () => {
  const v = new Vouched(1, 0);
  v.report(3, 1000);
  v.report(3, 2000);
  assert.equal(v.value, 0, 'one (possibly Byzantine) replica, however often it says so');
  v.report(1, 5);
  assert.equal(v.value, 5, 'replicas 1 and 3 both named 5 or later');
  v.report(2, 7);
  assert.equal(v.value, 7);
  v.report(0, 3);
  assert.equal(v.value, 7, 'never goes down');
});

test('with f = 0 (the unreplicated server) its one reply is enough', () => {
  const v = new Vouched(0, 0);
  v.report(0, 4);
  assert.equal(v.value, 4);
});
