import type { TxnInput, TxnOp, TxnOutput } from '../check/txn-model.js';
import type { Random } from '../runtime/core.js';
import type { ClientWorkload } from './kv-client.js';
import { shardOf } from './shard.js';
import { decodeShardResult, encodeTxnRequest, groupsOf } from './txn.js';

/** The keys of the transaction workload, per shard: accounts (whose balances sum to zero) and notes (plain values). */
export interface TxnKeys {
  accounts: string[][];
  notes: string[][];
}

export function txnKeys(groups: number): TxnKeys {
  return { accounts: keysByShard('a', 3, groups), notes: keysByShard('n', 2, groups) };
}

/** `prefix0`, `prefix1`, … in order until every shard holds `per` of them. */
function keysByShard(prefix: string, per: number, groups: number): string[][] {
  const shards: string[][] = Array.from({ length: groups }, () => []);
  for (let i = 0; shards.some((s) => s.length < per); i++) {
    const key = `${prefix}${i}`;
    const s = shards[shardOf(key, groups)]!;
    if (s.length < per) s.push(key);
  }
  return shards;
}

/**
 * The clients' transaction workload: a share `multiShard` of transactions spans two shards,
 * the rest one. Half are transfers (an unconditional debit and credit, so balances always sum
 * to zero), three in ten read every account of their shards (an audit: it must see that sum
 * intact whenever it reads every account), two in ten write a unique value to a note per shard.
 */
export function nextTxn(rng: Random, keys: TxnKeys, multiShard: number, client: number, id: number): TxnOp[] {
  const { accounts, notes } = keys;
  const groups = accounts.length;
  const first = Math.floor(rng.next() * groups);
  const shards = groups > 1 && rng.next() < multiShard ? [first, (first + 1 + Math.floor(rng.next() * (groups - 1))) % groups] : [first];
  const pick = (s: number, from = accounts) => from[s]![Math.floor(rng.next() * from[s]!.length)]!;
  const r = rng.next();
  if (r < 0.5) {
    const from = pick(shards[0]!);
    let to = pick(shards.at(-1)!);
    while (to === from) to = pick(shards.at(-1)!);
    const amount = 1 + Math.floor(rng.next() * 9);
    return [{ op: 'add', key: from, delta: -amount }, { op: 'add', key: to, delta: amount }];
  }
  if (r < 0.8) return shards.flatMap((s) => accounts[s]!.map((key) => ({ op: 'get' as const, key })));
  return shards.map((s) => ({ op: 'put' as const, key: pick(s, notes), value: `c${client}-${id}` }));
}

/** HydraTxn's client workload: each transaction is answered by every shard it touches. */
export function txnClientWorkload(groups: number, multiShard: number): ClientWorkload<TxnInput, TxnOutput> {
  const keys = txnKeys(groups);
  return {
    next(rng, client, id) {
      const ops = nextTxn(rng, keys, multiShard, client, id);
      const bits = groupsOf(ops, groups);
      const parts = Array.from({ length: groups }, (_, g) => g).filter((g) => bits & (1 << g));
      return { input: { ops }, payload: encodeTxnRequest({ client, requestId: id, ops }), parts };
    },
    check: (result) => void decodeShardResult(result),
    output(results) {
      const out: TxnOutput = [];
      for (const r of results.values()) for (const [i, v] of decodeShardResult(r)) out[i] = v;
      return Array.from(out, (v) => v ?? null);
    },
  };
}
