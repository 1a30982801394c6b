import type { TxnOp } from '../check/txn-model.js';
import { WireError } from '../runtime/core.js';
import { Reader, Writer, parseJson } from '../runtime/wire.js';
import { shardOf } from './shard.js';
import { fromKnownClient } from './kv.js';
import type { StateMachine, StateMachineKind } from './state-machine.js';

/**
 * HydraTxn's application: independent (one-shot) transactions over a sharded key-value store,
 * as in Eris. A transaction is a list of operations; each shard executes the ones on its keys,
 * in the order Hydra gives the transaction at that shard, with no coordination round. Writes do
 * not depend on reads at other shards, so a transfer is unconditional (balances may go below
 * zero; what the checker verifies is that their sum never changes).
 */
export interface TxnRequest {
  client: number;
  requestId: number;
  ops: TxnOp[];
}

/** A shard's part of the outputs: [operation index, value] for the operations on its keys. */
export type ShardResult = [number, string | null][];

/** The groups a transaction touches, as a Hydra destination bitmap. */
export function groupsOf(ops: TxnOp[], groups: number): number {
  let bits = 0;
  for (const o of ops) bits |= 1 << shardOf(o.key, groups);
  return bits;
}

interface Undo {
  writes: [string, string | undefined][];
  client: number;
  lastBefore: { requestId: number; result: Uint8Array } | undefined;
}

/** One shard of the store, with the exactly-once table of the transactions it executed. */
export class TxnShard {
  readonly data = new Map<string, string>();
  readonly last = new Map<number, { requestId: number; result: Uint8Array }>();

  constructor(private readonly group: number, private readonly groups: number) {}

  execute(q: TxnRequest): { result: Uint8Array | null; undo: Undo } {
    const seen = this.last.get(q.client);
    const undo: Undo = { writes: [], client: q.client, lastBefore: seen };
    if (seen && seen.requestId >= q.requestId) return { result: seen.requestId === q.requestId ? seen.result : null, undo };
    const out: ShardResult = [];
    q.ops.forEach((o, i) => {
      if (shardOf(o.key, this.groups) !== this.group) return;
      const before = this.data.get(o.key);
      if (o.op === 'get') {
        out.push([i, before ?? null]);
        return;
      }
      undo.writes.push([o.key, before]);
      this.data.set(o.key, o.op === 'put' ? o.value : String(Number(before ?? '0') + o.delta));
      out.push([i, null]);
    });
    const result = enc.encode(JSON.stringify(out));
    this.last.set(q.client, { requestId: q.requestId, result });
    return { result, undo };
  }

  undo(u: Undo): void {
    for (let i = u.writes.length - 1; i >= 0; i--) {
      const [key, previous] = u.writes[i]!;
      if (previous === undefined) this.data.delete(key);
      else this.data.set(key, previous);
    }
    if (u.lastBefore) this.last.set(u.client, u.lastBefore);
    else this.last.delete(u.client);
  }
}

/** A shard of the transactional store as a replicated state machine (HydraTxn's application), for a testbed of `clients` clients. */
export function txnStateMachine(group: number, groups: number, clients: number): StateMachineKind {
  const machine = (s: TxnShard): StateMachine => ({
    execute(request) {
      const q = fromKnownClient(decodeTxnRequest(request), clients);
      const { result, undo } = s.execute(q);
      return { client: q.client, requestId: q.requestId, result, undo };
    },
    undo: (u) => s.undo(u as Undo),
    snapshot: () => enc.encode(JSON.stringify({
      data: [...s.data], last: [...s.last].map(([c, l]) => [c, l.requestId, dec.decode(l.result)]),
    })),
    contents: () => JSON.stringify([...s.data].sort()),
  });
  return {
    create: () => machine(new TxnShard(group, groups)),
    restore(snapshot) {
      const s = new TxnShard(group, groups);
      const parsed = parseJson(snapshot, 'bad-field', 'transaction store snapshot') as { data: [string, string][]; last: [number, number, string][] };
      if (!Array.isArray(parsed?.data) || !Array.isArray(parsed?.last)) throw new WireError('bad-field', 'transaction store snapshot lacks data or last');
      if (!parsed.data.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'string')) {
        throw new WireError('bad-field', 'transaction store snapshot has an entry that is not a [key, value] pair of strings');
      }
      if (!parsed.last.every((l) => Array.isArray(l) && l.length === 3 && Number.isInteger(l[0]) && Number.isInteger(l[1]) && typeof l[2] === 'string')) {
        throw new WireError('bad-field', 'transaction store snapshot has an exactly-once entry that is not [client, request id, result]');
      }
      for (const [k, v] of parsed.data) s.data.set(k, v);
      for (const [c, requestId, result] of parsed.last) s.last.set(c, { requestId, result: enc.encode(result) });
      return machine(s);
    },
  };
}

const KINDS = { get: 0, put: 1, add: 2 } as const;
const MAX_OPS = 1024;
const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeTxnRequest(q: TxnRequest): Uint8Array {
  const keys = q.ops.map((o) => enc.encode(o.key));
  const values = q.ops.map((o) => (o.op === 'put' ? enc.encode(o.value) : null));
  let size = 2 + 8 + 2;
  q.ops.forEach((o, i) => { size += 1 + 2 + keys[i]!.length + (o.op === 'put' ? 2 + values[i]!.length : o.op === 'add' ? 8 : 0); });
  const w = new Writer(size).u16(q.client).u64(q.requestId).u16(q.ops.length);
  q.ops.forEach((o, i) => {
    w.u8(KINDS[o.op]).u16(keys[i]!.length).raw(keys[i]!);
    if (o.op === 'put') w.u16(values[i]!.length).raw(values[i]!);
    if (o.op === 'add') w.f64(o.delta);
  });
  return w.done();
}

export function decodeTxnRequest(bytes: Uint8Array): TxnRequest {
  const r = new Reader(bytes);
  const client = r.u16('client');
  const requestId = r.u64('request id');
  const n = r.u16('operation count');
  if (n === 0 || n > MAX_OPS) throw new WireError('bad-field', `a transaction has 1 to ${MAX_OPS} operations, not ${n}`);
  const ops: TxnOp[] = [];
  for (let i = 0; i < n; i++) {
    const kind = r.u8('operation');
    const key = dec.decode(r.bytesOf(r.u16('key length'), 'key'));
    if (kind === KINDS.get) ops.push({ op: 'get', key });
    else if (kind === KINDS.put) ops.push({ op: 'put', key, value: dec.decode(r.bytesOf(r.u16('value length'), 'value')) });
    else if (kind === KINDS.add) {
      const delta = r.f64('delta');
      if (!Number.isSafeInteger(delta)) throw new WireError('bad-field', `delta ${delta} is not a safe integer`);
      ops.push({ op: 'add', key, delta });
    } else throw new WireError('bad-field', `unknown transaction operation ${kind}`);
  }
  r.end('transaction');
  return { client, requestId, ops };
}

/** A shard's reply payload; throws a WireError if it is not one. */
export function decodeShardResult(bytes: Uint8Array): ShardResult {
  const v = parseJson(bytes, 'bad-field', 'a shard result');
  if (!Array.isArray(v) || !v.every((x) => Array.isArray(x) && typeof x[0] === 'number' && (x[1] === null || typeof x[1] === 'string'))) {
    throw new WireError('bad-field', 'a shard result is not a list of [index, value]');
  }
  return v as ShardResult;
}
