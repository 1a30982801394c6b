import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function up(edit: (yaml: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bft-'));
  const file = join(dir, 'bft.yaml');
  writeFileSync(file, edit(readFileSync('examples/bftcluster.yaml', 'utf8')));
  const { stdout, stderr } = await run(process.execPath, ['dist/cli/switchyard.js', 'up', file, '--duration', '4', '--json']);
  return { result: JSON.parse(stdout.trim()), stderr };
}

for (const protocol of ['neobft-hm', 'neobft-pk', 'pbft', 'unreplicated']) {
  test(`switchyard up runs a ${protocol} BFTCluster as processes; the clients' histories are linearizable`, async () => {
    const { result, stderr } = await up((y) => y.replace('protocol: neobft-hm', `protocol: ${protocol}`) + '  network:\n    loss: 0.005\n');
    assert.equal(result.ok, true, stderr);
    const members = { 'neobft-hm': 9, 'neobft-pk': 9, pbft: 8, unreplicated: 5 }[protocol];
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

test('a BFTCluster whose replicas are not 3f+1 is refused, naming the field', async () => {
  await assert.rejects(up((y) => y.replace('replicas: 4', 'replicas: 5')), (e: { stderr: string }) => /spec\.replicas: replicas must be 3f\+1/.test(e.stderr));
});
