import { type ModelName, modelOf, writeHistory } from '../../node/check/history-file.js';
import { type Operation, checkLinearizable } from '../../node/check/linearizability.js';
import type { Plan } from '../plan/types.js';
import type { MemberAccess } from './access.js';

type Op = Operation<unknown, unknown>;

/** What a client serves at `/history.json`: its completed operations and the one still waiting, if any. */
export interface ClientHistory {
  client: string;
  completed: Op[];
  pending: Op | null;
}

export interface HistoryCheck {
  linearizable: boolean;
  /** False when the search ran out of its step budget: then nothing is known either way. */
  complete: boolean;
  committed: number;
  counterexample: string[];
  /** Where the history was written, for `switchyard check` or any other checker. */
  file: string;
}

/** The sequential specification a plan's client histories are checked against. */
export function modelFor(plan: Plan): ModelName {
  return plan.document.system === 'hydra' && plan.document.hydra.application === 'hydratxn' ? 'txn' : 'kv';
}

/** Reads every client's recorded history; throws naming the client that does not answer. */
export async function fetchHistories(clients: string[], access: MemberAccess, timeoutMs: number): Promise<ClientHistory[]> {
  return Promise.all(clients.map(async (client) => {
    let h: { completed?: unknown; pending?: unknown };
    try {
      h = (await access.getJson(client, '/history.json', timeoutMs)) as typeof h;
    } catch (err) {
      throw new Error(`the history of ${client} could not be read: ${(err as Error).message}`);
    }
    if (!Array.isArray(h?.completed)) throw new Error(`the history of ${client} is not {"completed": [...], "pending": …}`);
    return { client, completed: h.completed as Op[], pending: (h.pending ?? null) as Op | null };
  }));
}

/**
 * Every operation of clients that have stopped issuing (nothing more will be added). JSON has
 * no Infinity: an operation still waiting is one that never returned.
 */
export function wholeHistory(histories: ClientHistory[]): Op[] {
  return histories.flatMap((h) => [...h.completed, ...(h.pending ? [{ ...h.pending, ret: Infinity, output: undefined }] : [])]);
}

/**
 * The histories of clients that are still running, read one after another, cut at one instant
 * T: operations called after T are left out, and those that returned after T count as never
 * returned. A client's history is exact up to the moment it was read, and that moment is no
 * earlier than the last event it shows (its waiting operation's call, else its last return; a
 * closed-loop client always has one waiting), so T, the earliest of those over all clients, is
 * no later than any read. Cut there, the histories form a prefix of the run's history at T,
 * and a prefix of a linearizable history is linearizable (Herlihy & Wing, TOPLAS 1990: a
 * pending operation may be completed or left out), so the cut adds no false violation. `fallbackCut` bounds T for
 * a client that shows nothing yet (in the members' clock, microseconds).
 */
export function historyPrefix(histories: ClientHistory[], fallbackCut: number): Op[] {
  const lastEvent = (h: ClientHistory) => h.pending ? h.pending.call : h.completed.length ? h.completed.reduce((t, o) => Math.max(t, o.ret), -Infinity) : fallbackCut;
  const cut = Math.min(fallbackCut, ...histories.map(lastEvent));
  return wholeHistory(histories)
    .filter((o) => o.call <= cut)
    .map((o) => (o.ret <= cut ? o : { ...o, ret: Infinity, output: undefined }));
}

/** Writes the history to `file` and checks it for linearizability against `model`. */
export function checkHistory(ops: Op[], model: ModelName, file: string): HistoryCheck {
  writeHistory(file, model, ops);
  const r = checkLinearizable(modelOf(model), ops);
  return { linearizable: r.linearizable, complete: r.complete, committed: ops.filter((o) => o.output !== undefined).length, counterexample: r.counterexample ?? [], file };
}
