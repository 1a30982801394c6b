/**
 * A linearizability checker for recorded client histories, in the manner of Wing & Gong's
 * search with Lowe's memoization as Porcupine implements it: walk the history in time order,
 * tentatively linearize any operation whose call precedes the earliest pending return, apply it
 * to the sequential model, and backtrack on failure; a (set of linearized operations, model
 * state) pair already explored is never explored again. Histories are split first by the
 * model's partition function (per key for a key-value store), which keeps 10,000-operation
 * histories fast. Operations that never returned (a client crashed or gave up) may take effect
 * at any point after their call, or not at all.
 */

export interface Operation<I, O> {
  client: number;
  input: I;
  /** Undefined when the operation never returned. */
  output: O | undefined;
  /** Call and return instants (any monotonic unit); `ret` is Infinity for an operation that never returned. */
  call: number;
  ret: number;
}

export interface Model<S, I, O> {
  init(): S;
  /** Whether `input` answered with `output` is legal in `state`, and the state after it. `output` undefined: any answer. */
  step(state: S, input: I, output: O | undefined): { ok: boolean; next: S };
  /** A key that tells states apart for memoization. */
  key(state: S): string;
  /** Independent sub-histories (e.g. one per key); defaults to the whole history. */
  partition?(ops: Operation<I, O>[]): Operation<I, O>[][];
  describe?(op: Operation<I, O>): string;
}

export interface CheckResult {
  linearizable: boolean;
  /** Whether the search finished within its budget (if not, `linearizable` is unknown and false). */
  complete: boolean;
  operations: number;
  /** Independent sub-histories searched, the largest one's operations, and search steps taken. */
  partitions: number;
  largestPartition: number;
  steps: number;
  /** For a violation: where the longest legal order of its partition stops, and the operations open there (see explain). */
  counterexample?: string[];
}

interface Entry {
  call: boolean;
  id: number;
  time: number;
  prev: Entry | null;
  next: Entry | null;
  /** The matching return entry of a call (null for an operation that never returned). */
  match: Entry | null;
}

function buildList(ops: Operation<unknown, unknown>[]): Entry {
  const events: Entry[] = [];
  ops.forEach((op, id) => {
    const call: Entry = { call: true, id, time: op.call, prev: null, next: null, match: null };
    events.push(call);
    if (Number.isFinite(op.ret)) {
      const ret: Entry = { call: false, id, time: op.ret, prev: null, next: null, match: null };
      call.match = ret;
      events.push(ret);
    }
  });
  // Calls before returns at equal times: concurrent operations may be ordered either way.
  events.sort((a, b) => a.time - b.time || Number(b.call) - Number(a.call) || a.id - b.id);
  const head: Entry = { call: false, id: -1, time: -Infinity, prev: null, next: null, match: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

function lift(e: Entry): void {
  e.prev!.next = e.next;
  if (e.next) e.next.prev = e.prev;
  const m = e.match;
  if (m) {
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  }
}

function unlift(e: Entry): void {
  const m = e.match;
  if (m) {
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
  }
  e.prev!.next = e;
  if (e.next) e.next.prev = e;
}

/** A check's outcome in one word: an exhausted search proves nothing either way. */
export function verdict(r: Pick<CheckResult, 'linearizable' | 'complete'>): 'linearizable' | 'violation' | 'incomplete' {
  return r.linearizable ? 'linearizable' : r.complete ? 'violation' : 'incomplete';
}

/** Where the search got furthest in a partition that cannot be linearized (Knossos reports the same). */
interface Stuck<S> {
  /** Operations linearized on the longest path found. */
  depth: number;
  /** The operation whose return no order could get past from there. */
  blocked: number;
  state: S;
  linearized: Uint32Array;
}

function checkPartition<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], budget: { steps: number }, stuck: { at: Stuck<S> | null }): boolean | null {
  const head = buildList(ops as Operation<unknown, unknown>[]);
  const linearized = new Uint32Array((ops.length + 31) >>> 5);
  const seen = new Set<string>();
  const stack: { entry: Entry; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  // Finished when every operation that returned is linearized; calls that never returned may remain.
  let returnsLeft = ops.filter((op) => Number.isFinite(op.ret)).length;
  for (;;) {
    if (returnsLeft === 0) return true;
    if (--budget.steps < 0) return null;
    if (entry && entry.call) {
      const op = ops[entry.id]!;
      const { ok, next } = model.step(state, op.input, op.output);
      if (ok) {
        linearized[entry.id >>> 5]! |= 1 << (entry.id & 31);
        const memo = `${linearized.join(',')}|${model.key(next)}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ entry, state });
          state = next;
          lift(entry);
          if (entry.match) returnsLeft--;
          entry = head.next;
          continue;
        }
        linearized[entry.id >>> 5]! &= ~(1 << (entry.id & 31));
      }
      entry = entry.next;
      continue;
    }
    // A return (or the end) reached with its operation not linearized: backtrack.
    if (entry && (!stuck.at || stack.length > stuck.at.depth)) stuck.at = { depth: stack.length, blocked: entry.id, state, linearized: linearized.slice() };
    const top = stack.pop();
    if (!top) return false;
    unlift(top.entry);
    if (top.entry.match) returnsLeft++;
    linearized[top.entry.id >>> 5]! &= ~(1 << (top.entry.id & 31));
    state = top.state;
    entry = top.entry.next;
  }
}

/**
 * A violation as a reader can follow it: how far the longest legal order got, the state there,
 * the operation whose return no order could reach, and every operation still open at that point
 * (called before it returned, not yet linearized), in call order — one of them had to take effect
 * first, and none can.
 */
function explain<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], at: Stuck<S>): string[] {
  const describe = model.describe ?? ((op: Operation<I, O>) => JSON.stringify(op));
  const blocked = ops[at.blocked]!;
  const done = (i: number) => (at.linearized[i >>> 5]! & (1 << (i & 31))) !== 0;
  const open = ops.map((op, i) => ({ op, i })).filter(({ op, i }) => !done(i) && op.call <= blocked.ret).sort((a, b) => a.op.call - b.op.call);
  return [
    `the longest legal order takes ${at.depth} of ${ops.length} operations; the state then: ${model.key(at.state)}`,
    `no order reaches the return of: ${describe(blocked)}`,
    'operations open then (one had to take effect next, none can):',
    ...open.slice(0, 48).map(({ op }) => `  ${describe(op)}`),
  ];
}

/** Checks a whole history; `maxSteps` bounds the search (reported as incomplete when hit). */
export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[], maxSteps = 50_000_000): CheckResult {
  const parts = model.partition ? model.partition(history) : [history];
  const budget = { steps: maxSteps };
  const stats = () => ({
    operations: history.length, partitions: parts.length, largestPartition: Math.max(0, ...parts.map((p) => p.length)), steps: maxSteps - Math.max(0, budget.steps),
  });
  for (const part of parts) {
    const stuck: { at: Stuck<S> | null } = { at: null };
    const r = checkPartition(model, part, budget, stuck);
    if (r === null) return { linearizable: false, complete: false, ...stats() };
    if (!r) return { linearizable: false, complete: true, ...stats(), counterexample: explain(model, part, stuck.at!) };
  }
  return { linearizable: true, complete: true, ...stats() };
}
