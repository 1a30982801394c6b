import type { Model, Operation } from './linearizability.js';

/** Operations of the replicated key-value stores (HydraPaxos, NeoBFT's application). */
export type KvInput =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: string }
  | { op: 'cas'; key: string; expected: string | null; value: string };

export type KvOutput = { value: string | null } | { ok: boolean } | Record<string, never>;

/** The sequential specification of one key (histories are partitioned per key). */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case 'get':
        return { ok: output === undefined || (output as { value: string | null }).value === state, next: state };
      case 'put':
        return { ok: true, next: input.value };
      case 'cas': {
        const swapped = state === input.expected;
        if (output !== undefined && (output as { ok: boolean }).ok !== swapped) return { ok: false, next: state };
        return { ok: true, next: swapped ? input.value : state };
      }
    }
  },
  key: (state) => (state === null ? '\u0000' : state),
  partition(ops) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of ops) {
      const list = byKey.get(op.input.key) ?? [];
      list.push(op);
      byKey.set(op.input.key, list);
    }
    return [...byKey.values()];
  },
  describe(op) {
    const i = op.input;
    const what = i.op === 'get' ? `get(${i.key})` : i.op === 'put' ? `put(${i.key}, ${i.value})` : `cas(${i.key}, ${i.expected} → ${i.value})`;
    const out = op.output === undefined ? 'no reply' : JSON.stringify(op.output);
    return `client ${op.client}: ${what} = ${out} [${op.call}, ${Number.isFinite(op.ret) ? op.ret : '∞'}]`;
  },
};
