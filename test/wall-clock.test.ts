import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { calibrateWallClock } from '../node/runtime/clock.js';

/**
 * A fake machine: every clock read takes `readMs`; `stalls[k]` is a pause (a preemption) just
 * before the wall clock read that first shows the k-th millisecond turn.
 */
function machine(trueOffsetMs: number, readMs: number, stalls: number[] = []) {
  let t = 1000.123;
  let lastWall: number | null = null;
  let turns = 0;
  return {
    mono: () => (t += readMs),
    wall: () => {
      t += readMs;
      if (lastWall !== null && Math.floor(t + trueOffsetMs) !== lastWall) t += stalls[turns++] ?? 0;
      return (lastWall = Math.floor(t + trueOffsetMs));
    },
  };
}

const OFFSET = 1_795_000_000_000.4567;

test('the wall clock offset is found at a millisecond turn, to within a clock read', () => {
  const m = machine(OFFSET, 0.0003);
  const r = calibrateWallClock(m.mono, m.wall);
  assert.ok(Math.abs(r.offsetMs - OFFSET) < 0.001, `${r.offsetMs - OFFSET} ms off`);
  assert.ok(r.widthMs < 0.002);
});

test('a turn seen across a preemption is not believed: the narrowest turn wins, and more turns are watched while all are wide', () => {
  // Up to 20 turns are watched while the best is wider than 50 µs.
  for (const stalls of [[0.8, 0, ...Array<number>(18).fill(0.3)], [5, 0.7, 0], [0.2, 0.4, 0.6, 2, 0.1, 0]]) {
    const m = machine(OFFSET, 0.0003, stalls);
    const r = calibrateWallClock(m.mono, m.wall);
    assert.ok(Math.abs(r.offsetMs - OFFSET) < 0.001, `stalls ${stalls}: ${(r.offsetMs - OFFSET).toFixed(4)} ms off`);
  }
});

test('processes started together agree on the wall clock to within 0.2 ms (measured against the shared monotonic clock)', async () => {
  // Each process reports its wallMicros() minus the machine-wide CLOCK_MONOTONIC, from the pair of
  // reads that bracketed it most tightly; equal clocks give equal differences.
  const script = `
    const { wallMicros } = await import(${JSON.stringify(new URL('../node/runtime/clock.js', import.meta.url).href)});
    const mono = () => Number(process.hrtime.bigint()) / 1000;
    let best = { width: Infinity, d: 0 };
    for (let i = 0; i < 2000; i++) { const a = mono(); const w = wallMicros(); const b = mono(); if (b - a < best.width) best = { width: b - a, d: w - (a + b) / 2 }; }
    console.log(best.d);`;
  const run = promisify(execFile);
  const outs = await Promise.all([...Array(12).keys()].map(() => run(process.execPath, ['--input-type=module', '-e', script])));
  const d = outs.map((o) => Number(o.stdout.trim()));
  const spread = Math.max(...d) - Math.min(...d);
  assert.ok(spread < 200, `wall clocks of 12 processes spread over ${spread.toFixed(0)} µs`);
});
