import type { ModelName } from '../../node/check/history-file.js';
import type { KvInput, KvOutput } from '../../node/check/kv-model.js';
import type { Operation } from '../../node/check/linearizability.js';

type Op = Operation<unknown, unknown>;

/** A client incarnation that died with its recorded history (`switchyard up` restarts it empty). */
export interface LostClient {
  member: string;
  /** When it was started (ms since the epoch): none of its operations was called earlier. */
  startedAt: number;
}

/**
 * The history to check when some client incarnations died and their histories went with them
 * (a SIGKILL leaves nothing to read). Their operations are unknown, but their writes may have
 * taken effect and been seen by others, so dropping them alone could report a violation that
 * never happened. The rule, from T = the earliest start of a lost incarnation (members' clock, µs):
 * - key-value (every written value is unique): a value some operation read (a get's result, a
 *   successful compare-and-set's expected value) that no operation in the history writes was
 *   written by a lost incarnation: it becomes a put that never returned, called at T — free to
 *   take effect at any point after T, or not at all (how the checker treats a pending operation);
 * - a compare-and-set that failed and returned after T may have failed because of a lost write:
 *   it becomes an operation that never returned (its own write may or may not have happened);
 * - transactions (increments are not traceable to a writer): every operation that returned
 *   after T is checked without its result, so only what returned before T is checked strictly.
 * Every operation of the real run maps to one of these, so a linearizable run stays
 * linearizable; what is lost is strictness after T, never soundness.
 */
export function withLostIncarnations(ops: Op[], lost: LostClient[], model: ModelName): Op[] {
  if (lost.length === 0) return ops;
  const since = Math.min(...lost.map((l) => l.startedAt)) * 1000;
  const unknown = (o: Op): Op => ({ ...o, ret: Infinity, output: undefined });
  if (model === 'txn') return ops.map((o) => (o.ret > since ? unknown(o) : o));
  const kv = ops as Operation<KvInput, KvOutput>[];
  const entry = (key: string, value: string) => `${key}\u0000${value}`;
  const written = new Set(kv.flatMap((o) => (o.input.op === 'get' ? [] : [entry(o.input.key, o.input.value)])));
  const orphans = new Map<string, Operation<KvInput, KvOutput>>();
  for (const o of kv) {
    const read = o.output === undefined ? null
      : o.input.op === 'get' ? (o.output as { value: string | null }).value
        : o.input.op === 'cas' && (o.output as { ok: boolean }).ok ? o.input.expected : null;
    if (read === null || written.has(entry(o.input.key, read)) || orphans.has(entry(o.input.key, read))) continue;
    orphans.set(entry(o.input.key, read), { client: -1, input: { op: 'put', key: o.input.key, value: read }, output: undefined, call: since, ret: Infinity });
  }
  const failedCas = (o: Operation<KvInput, KvOutput>) => o.input.op === 'cas' && o.output !== undefined && !(o.output as { ok: boolean }).ok;
  return [...kv.map((o) => (failedCas(o) && o.ret > since ? unknown(o) : o)), ...orphans.values()] as Op[];
}
