import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardOf } from '../node/apps/shard.js';
import { TxnShard, type TxnRequest, decodeShardResult, decodeTxnRequest, encodeTxnRequest, groupsOf } from '../node/apps/txn.js';
import { txnKeys } from '../node/apps/txn-workload.js';
import { checkLinearizable } from '../node/check/linearizability.js';
import { txnModel } from '../node/check/txn-model.js';
import { WireError } from '../node/runtime/core.js';

const transfer: TxnRequest = { client: 3, requestId: 9, ops: [{ op: 'add', key: 'a0', delta: -5 }, { op: 'add', key: 'a1', delta: 5 }, { op: 'get', key: 'a0' }, { op: 'put', key: 'n0', value: 'x' }] };

test('a transaction survives an encode/decode round trip; malformed ones are refused with a reason', () => {
  assert.deepEqual(decodeTxnRequest(encodeTxnRequest(transfer)), transfer);
  const bytes = encodeTxnRequest(transfer);
  assert.throws(() => decodeTxnRequest(bytes.subarray(0, bytes.length - 1)), WireError);
  assert.throws(() => decodeTxnRequest(encodeTxnRequest({ ...transfer, ops: [] })), /1 to 1024 operations/);
  const bad = encodeTxnRequest({ client: 1, requestId: 1, ops: [{ op: 'add', key: 'a', delta: 1 }] });
  new DataView(bad.buffer, bad.byteOffset).setFloat64(bad.length - 8, 0.5);
  assert.throws(() => decodeTxnRequest(bad), /not a safe integer/);
  assert.throws(() => decodeShardResult(new TextEncoder().encode('[[1, 2]]')), /index, value/);
});

test('a shard executes only its keys, exactly once per request, and undoes an execution completely', () => {
  const groups = 2;
  const mine = shardOf('a0', groups);
  const shard = new TxnShard(mine, groups);
  const first = shard.execute(transfer);
  const out = decodeShardResult(first.result!);
  assert.ok(out.every(([i]) => shardOf(transfer.ops[i]!.key, groups) === mine), 'only operations on this shard');
  assert.equal(shard.data.get('a0'), '-5');
  const before = JSON.stringify([...shard.data]);
  const retry = shard.execute(transfer);
  assert.deepEqual(retry.result, first.result, 'a retry gets the recorded result');
  assert.equal(JSON.stringify([...shard.data]), before, 'and does not run again');
  assert.equal(shard.execute({ ...transfer, requestId: 8 }).result, null, 'an older request is superseded');
  shard.undo(first.undo);
  assert.equal(shard.data.size, 0);
  assert.equal(shard.last.size, 0);
  assert.equal(groupsOf(transfer.ops, groups), (1 << shardOf('a0', groups)) | (1 << shardOf('a1', groups)) | (1 << shardOf('n0', groups)));
});

test('the workload\'s keys cover every shard', () => {
  const keys = txnKeys(3);
  keys.accounts.forEach((list, g) => assert.ok(list.length === 3 && list.every((k) => shardOf(k, 3) === g)));
  keys.notes.forEach((list, g) => assert.ok(list.length === 2 && list.every((k) => shardOf(k, 3) === g)));
});

test('the transactional model accepts an atomic history and refuses a torn read', () => {
  const t = (client: number, ops: TxnRequest['ops'], output: (string | null)[], call: number, ret: number) => ({ client, input: { ops }, output, call, ret });
  const move = [{ op: 'add' as const, key: 'a', delta: -3 }, { op: 'add' as const, key: 'b', delta: 3 }];
  const audit = [{ op: 'get' as const, key: 'a' }, { op: 'get' as const, key: 'b' }];
  assert.ok(checkLinearizable(txnModel, [t(0, move, [null, null], 0, 10), t(1, audit, ['-3', '3'], 5, 15)]).linearizable);
  assert.ok(checkLinearizable(txnModel, [t(0, move, [null, null], 0, 10), t(1, audit, [null, null], 5, 15)]).linearizable);
  const torn = checkLinearizable(txnModel, [t(0, move, [null, null], 0, 10), t(1, audit, ['-3', null], 5, 15)]);
  assert.equal(torn.linearizable, false);
});
