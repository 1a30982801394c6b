import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvModel } from '../node/check/kv-model.js';
import { type Operation, checkLinearizable } from '../node/check/linearizability.js';
import type { KvInput, KvOutput } from '../node/check/kv-model.js';
import { SimNetwork } from '../node/net/sim.js';
import { pbftClient } from '../node/pbft/client.js';
import { pbftCodec } from '../node/pbft/codec.js';
import type { PbftMsg } from '../node/pbft/messages.js';
import { PbftReplica } from '../node/pbft/replica.js';
import type { Core } from '../node/runtime/core.js';
import { Driver } from '../node/runtime/driver.js';
import { SeededRandom } from '../node/runtime/random.js';

function run(seed: number, n: number, f: number, loss: number) {
  const net = new SimNetwork(seed, { delayUs: 50, jitterUs: 30, loss, duplicate: loss, reorder: loss, reorderWindowUs: 300 });
  const rng = new SeededRandom(seed);
  const key = () => Uint8Array.from({ length: 32 }, () => rng.int(256));
  const pairs = Array.from({ length: n }, () => Array.from({ length: n }, () => new Uint8Array(32)));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs[i]![j] = pairs[j]![i] = key();
  const clientKeys = Array.from({ length: 3 }, () => Array.from({ length: n }, key));
  const replicas = Array.from({ length: n }, (_, i) => 10 + i);
  const history: Operation<KvInput, KvOutput>[] = [];
  const boot = (id: number, core: Core<PbftMsg>) => net.addNode(id, ({ transport, clock, scheduler }) => new Driver(core, pbftCodec, transport, clock, scheduler));
  for (let i = 0; i < n; i++) {
    boot(10 + i, new PbftReplica({
      index: i, f, replicas, pairKeys: pairs[i]!, clientKey: (c) => clientKeys[c]![i]!, clientNode: (c) => 100 + c,
      maxBatch: n === 1 ? 1 : 8, batchDelayUs: 200, retryUs: 2000,
    }, { executed() {}, batched() {}, invalid() {} }));
  }
  const clients = Array.from({ length: 3 }, (_, c) => pbftClient({ client: c, f, replicas, keys: clientKeys[c]!, keySpace: 4, requests: 60, retryUs: 5000 },
    new SeededRandom(seed * 17 + c), { completed: (op) => history.push(op), retried() {}, rejectedReply() {} }));
  clients.forEach((c, i) => boot(100 + i, c));
  net.runUntil(1_500_000);
  net.faults = { ...net.faults, loss: 0, duplicate: 0, reorder: 0 };
  net.runUntil(3_000_000);
  return { history, pending: clients.flatMap((c) => (c.pending ? [c.pending] : [])) };
}

test('PBFT (f = 1) and the unreplicated server complete linearizable histories under loss, duplication and reordering', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    for (const [n, f] of [[4, 1], [1, 0]] as const) {
      const { history, pending } = run(seed, n, f, 0.03);
      assert.equal(history.length, 180, `seed ${seed}, n = ${n}: ${history.length}/180 completed`);
      const lin = checkLinearizable(kvModel, [...history, ...pending]);
      assert.ok(lin.linearizable, `seed ${seed}, n = ${n}: ${lin.counterexample?.slice(0, 3).join(' | ')}`);
    }
  }
});
