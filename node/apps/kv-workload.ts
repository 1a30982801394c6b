import type { KvInput } from '../check/kv-model.js';
import type { Random } from '../runtime/core.js';

/**
 * The clients' key-value workload: 40 % gets, 40 % puts, 20 % compare-and-sets over `keySpace`
 * keys; every written value is unique (client and request id), which keeps histories checkable.
 */
export function nextKvOp(rng: Random, client: number, id: number, keySpace: number): KvInput {
  const key = `k${Math.floor(rng.next() * keySpace)}`;
  const r = rng.next();
  if (r < 0.4) return { op: 'get', key };
  if (r < 0.8) return { op: 'put', key, value: `c${client}-${id}` };
  return { op: 'cas', key, expected: rng.next() < 0.5 ? null : `c${client}-${id - 1}`, value: `c${client}-${id}` };
}
