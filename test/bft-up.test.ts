import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { spawnUp } from './support/up-process.js';

const run = promisify(execFile);

async function up(edit: (yaml: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bft-'));
  const file = join(dir, 'bft.yaml');
  writeFileSync(file, edit(readFileSync('examples/bftcluster.yaml', 'utf8')));
  const { stdout, stderr } = await run(process.execPath, ['dist/cli/switchyard.js', 'up', file, '--duration', '4', '--json']);
  return { result: JSON.parse(stdout.trim()), stderr };
}

for (const protocol of ['neobft-hm', 'neobft-pk', 'pbft', 'hotstuff', 'zyzzyva', 'unreplicated']) {
  test(`switchyard up runs a ${protocol} BFTCluster as processes; the clients' histories are linearizable`, async () => {
    const { result, stderr } = await up((y) => y.replace('protocol: neobft-hm', `protocol: ${protocol}`) + '  network:\n    loss: 0.005\n');
    assert.equal(result.ok, true, stderr);
    const members = { 'neobft-hm': 10, 'neobft-pk': 10, pbft: 8, hotstuff: 8, zyzzyva: 8, unreplicated: 5 }[protocol]!;
    assert.deepEqual(result.members, { expected: members, ready: members });
    assert.equal(result.linearizable, true);
    assert.ok(result.committed > 500, `committed ${result.committed}`);
    assert.ok(result.latency_s.p50 > 0);
    if (protocol.startsWith('neobft')) assert.equal(result.epoch, 1, 'read from the replicas\' metrics');
    assert.equal(typeof result.gap_agreements, 'number');
    assert.deepEqual(result.rejected, {});
    assert.match(stderr, /linearizable\s+yes/);
  });
}

/**
 * Runs a testbed of `protocol` for 9 s and SIGKILLs `member` once operations commit; with
 * --fail-fast, as the protocol's own failover is under test, not up's restarts.
 */
async function killMidRun(protocol: string, member: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bft-failover-'));
  const file = join(dir, 'bft.yaml');
  writeFileSync(file, readFileSync('examples/bftcluster.yaml', 'utf8').replace('protocol: neobft-hm', `protocol: ${protocol}`));
  const up = spawnUp(file, 9, ['--fail-fast']);
  await up.waitFor(/committed [1-9]/);
  process.kill(up.pidOf(member), 'SIGKILL');
  assert.equal(await up.exited, 0, up.out.stderr);
  const result = up.result();
  assert.equal(result.ok, true, up.out.stderr);
  assert.match(up.out.stderr, new RegExp(`${member} killed by SIGKILL; the protocol reconfigures around it`));
  assert.equal(result.linearizable, true);
  return result;
}

test('killing the sequencer mid-run fails over to the standby through an epoch change; the history stays linearizable', async () => {
  const result = await killMidRun('neobft-hm', 'sequencer-0');
  assert.ok(result.epoch >= 2, `epoch ${result.epoch}: the standby sequencer orders a new epoch`);
  assert.ok((result.view_changes.sequencer ?? 0) >= 1, JSON.stringify(result.view_changes));
});

test('killing the PBFT primary mid-run moves the replicas to view 1 by a view change; the history stays linearizable', async () => {
  const result = await killMidRun('pbft', 'replica-0');
  assert.ok(result.view >= 1, `view ${result.view}: a backup became primary`);
  assert.ok((result.view_changes['request-timeout'] ?? 0) >= 1, JSON.stringify(result.view_changes));
});

test('a protocol that stalls (two of PBFT\'s four replicas dead, not restarted) fails the run with ProtocolStalled once nothing commits for 30 s, not at the end of its duration', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bft-stall-'));
  const file = join(dir, 'bft.yaml');
  writeFileSync(file, readFileSync('examples/bftcluster.yaml', 'utf8').replace('protocol: neobft-hm', 'protocol: pbft'));
  const up = spawnUp(file, 600, ['--fail-fast']);
  assert.ok(await up.waitFor(/committed [1-9]/, 0, 120_000), up.out.stderr);
  const started = Date.now();
  process.kill(up.pidOf('replica-1'), 'SIGKILL');
  process.kill(up.pidOf('replica-2'), 'SIGKILL');
  assert.equal(await up.exited, 1, up.out.stderr);
  assert.ok(Date.now() - started < 300_000, 'ended long before its 600 s');
  const result = up.result();
  assert.equal(result.ok, false);
  assert.ok(result.failures.some((f: string) => /^ProtocolStalled: clients committed nothing for 30 s; clients kept retrying/.test(f)), JSON.stringify(result.failures));
  assert.match(up.out.stderr, /result\s+FAILED: ProtocolStalled: clients committed nothing for 30 s/);
});

test('injected faults (an equivocating sequencer, a replica forging results, an intruder) are survived in Byzantine-network mode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bft-faults-'));
  const file = join(dir, 'bft.yaml');
  writeFileSync(file, readFileSync('examples/bftcluster-faults.yaml', 'utf8'));
  const { stdout, stderr } = await run(process.execPath, ['dist/cli/switchyard.js', 'up', file, '--duration', '8', '--json']);
  const result = JSON.parse(stdout.trim());
  assert.equal(result.ok, true, stderr);
  assert.deepEqual(result.members, { expected: 11, ready: 11 }, 'two sequencers, four replicas, four clients and the intruder');
  assert.ok(result.epoch >= 2, `epoch ${result.epoch}: the equivocating sequencer was replaced`);
  // Progress, not speed: the split numbers stall the clients until the epoch change (slower on a loaded machine).
  assert.ok(result.committed > 20, `committed ${result.committed}`);
  assert.equal(result.linearizable, true);
  await assert.rejects(up((y) => y.replace('workload:', 'faults:\n    replicas: [{ index: 1, behaviour: silent }, { index: 2, behaviour: silent }]\n  workload:')),
    (e: { stderr: string }) => /spec\.faults\.replicas: at most f replicas may be faulty/.test(e.stderr));
});

test('a sequencer forging requests in a client\'s name is refused by signed requests; the history stays linearizable', async () => {
  const { result, stderr } = await up((y) => y.replace('  workload:', '  signedRequests: true\n  faults:\n    sequencer: forge\n  workload:'));
  assert.equal(result.ok, true, stderr);
  assert.ok((result.refused['bad-client-signature'] ?? 0) > 0, JSON.stringify(result.refused));
  assert.ok(result.committed > 20, `committed ${result.committed}`);
  assert.equal(result.linearizable, true);
  assert.match(stderr, /refused by replicas\s+.*bad-client-signature/);
});

test('a BFTCluster whose replicas are not 3f+1 is refused, naming the field', async () => {
  await assert.rejects(up((y) => y.replace('replicas: 4', 'replicas: 5')), (e: { stderr: string }) => /spec\.replicas: replicas must be 3f\+1/.test(e.stderr));
});
