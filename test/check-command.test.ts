import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const dir = mkdtempSync(join(tmpdir(), 'sy-check-'));
const check = (file: string, ...flags: string[]) => spawnSync(process.execPath, ['dist/cli/switchyard.js', 'check', file, ...flags], { encoding: 'utf8' });
const history = (name: string, body: unknown) => {
  const file = join(dir, name);
  writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
  return file;
};
const put = (client: number, value: string, call: number, ret: number | null) => ({ client, input: { op: 'put', key: 'x', value }, output: {}, call, ret });
const get = (client: number, value: string | null, call: number, ret: number) => ({ client, input: { op: 'get', key: 'x' }, output: { value }, call, ret });

test('switchyard check: a linearizable history exits 0; one that never returned may or may not have taken effect', () => {
  const file = history('ok.json', { model: 'kv', operations: [put(0, 'a', 0, 1), put(1, 'b', 2, null), get(2, 'b', 5, 6), get(2, 'b', 7, 8)] });
  const r = check(file);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /operations\s+4 in 1 independent partition/);
  assert.match(r.stdout, /linearizable\s+yes/);
});

test('switchyard check: a stale read exits 1 and shows where the longest legal order stops; --json says "violation"', () => {
  const file = history('stale.json', { model: 'kv', operations: [put(0, 'a', 0, 1), put(0, 'b', 2, 3), get(1, 'a', 4, 5), get(2, 'b', 4, 6)] });
  const r = check(file);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /linearizable\s+NO/);
  const j = JSON.parse(check(file, '--json').stdout);
  assert.equal(j.verdict, 'violation');
  // Both puts and the read of b are in order; the read of a can never return after them.
  assert.deepEqual(j.counterexample, [
    'the longest legal order takes 3 of 4 operations; the state then: b',
    'no order reaches the return of: client 1: get(x) = {"value":"a"} [4, 5]',
    'operations open then (one had to take effect next, none can):',
    '  client 1: get(x) = {"value":"a"} [4, 5]',
  ]);
  assert.match(r.stdout, /no order reaches the return of: client 1: get\(x\)/);
});

test('switchyard check: a search out of steps is "unknown" (exit 3), not a violation', () => {
  // Many concurrent writes then a read of the first: the search must try orders until it finds one.
  const ops = [...Array(12).keys()].map((i) => put(i, `v${i}`, 0, 100));
  const file = history('wide.json', { model: 'kv', operations: [...ops, get(20, 'v0', 200, 201)] });
  const r = check(file, '--max-steps', '3');
  assert.equal(r.status, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /UNKNOWN/);
  assert.equal(check(file).status, 0);
});

test('switchyard check: bad files and flags are named', () => {
  const cases: [string, string[], RegExp][] = [
    [history('garbage.json', '{not json'), [], /garbage\.json: .*JSON/],
    [history('nomodel.json', { operations: [] }), [], /"model" must be one of kv, txn/],
    [history('badret.json', { model: 'kv', operations: [{ ...put(0, 'a', 5, 1) }] }), [], /operations\[0\]: "ret" must be null .* ≥ "call"/],
    [history('noinput.json', { model: 'txn', operations: [{ client: 0, call: 0, ret: 1 }] }), [], /operations\[0\]: "input" must be an object/],
    [join(dir, 'missing.json'), [], /missing\.json: ENOENT/],
    [history('fine.json', { model: 'kv', operations: [] }), ['--model', 'sql'], /--model must be one of kv, txn, not "sql"/],
    [history('fine2.json', { model: 'kv', operations: [] }), ['--max-steps', '0'], /--max-steps must be a positive whole number/],
  ];
  for (const [file, flags, message] of cases) {
    const r = check(file, ...flags);
    assert.equal(r.status, 2, `${file} ${flags.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
