import type { Model, Operation } from './linearizability.js';

/** One operation of a transaction (HydraTxn's application, apps/txn.ts, executes them). */
export type TxnOp =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: string }
  | { op: 'add'; key: string; delta: number };

/** One value per operation: what a get read; null for writes. */
export type TxnOutput = (string | null)[];

export interface TxnInput {
  ops: TxnOp[];
}

type State = ReadonlyMap<string, string>;

/**
 * The sequential specification of the transactional store (HydraTxn): a transaction is one
 * atomic step over every key it touches. Histories split into the connected components of
 * keys that transactions touch together (union-find), which is exact: transactions with
 * disjoint key sets commute.
 */
export const txnModel: Model<State, TxnInput, TxnOutput> = {
  init: () => new Map(),
  step(state, input, output) {
    const next = new Map(state);
    for (let i = 0; i < input.ops.length; i++) {
      const o = input.ops[i]!;
      const before = next.get(o.key) ?? null;
      if (o.op === 'get') {
        if (output !== undefined && output[i] !== before) return { ok: false, next: state };
      } else if (o.op === 'put') next.set(o.key, o.value);
      else next.set(o.key, String(Number(before ?? '0') + o.delta));
    }
    return { ok: true, next };
  },
  key: (state) => JSON.stringify([...state].sort()),
  partition(ops) {
    const parent = new Map<string, string>();
    const find = (k: string): string => {
      let p = parent.get(k) ?? k;
      if (p !== k) {
        p = find(p);
        parent.set(k, p);
      }
      return p;
    };
    for (const op of ops) {
      const [first, ...rest] = op.input.ops.map((o) => find(o.key));
      for (const r of rest) if (r !== first) parent.set(r, first!);
    }
    const parts = new Map<string, Operation<TxnInput, TxnOutput>[]>();
    for (const op of ops) {
      const root = find(op.input.ops[0]!.key);
      const list = parts.get(root) ?? [];
      list.push(op);
      parts.set(root, list);
    }
    return [...parts.values()];
  },
  describe(op) {
    const what = op.input.ops.map((o) => (o.op === 'get' ? `get ${o.key}` : o.op === 'put' ? `put ${o.key}=${o.value}` : `add ${o.key} ${o.delta}`));
    const out = op.output === undefined ? 'no reply' : JSON.stringify(op.output);
    return `client ${op.client}: [${what.join(', ')}] = ${out} [${op.call}, ${Number.isFinite(op.ret) ? op.ret : '∞'}]`;
  },
};
