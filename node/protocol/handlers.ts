import type { Ctx } from '../runtime/core.js';

/** The member of message union M whose `type` is T (a member whose `type` is itself a union, PBFT's PREPARE and COMMIT, counts for each). */
export type MessageOf<T, M> = M extends { type: infer U } ? (T extends U ? M : never) : never;

/** A replica's handler table: one handler per message type, each given the message of its type. */
export type HandlerTable<M extends { type: string }> = { [T in M['type']]: (ctx: Ctx<M>, m: MessageOf<T, M>) => void };

/** Hands `m` to its type's handler. */
export function dispatch<M extends { type: string }>(table: HandlerTable<M>, ctx: Ctx<M>, m: M): void {
  (table[m.type as M['type']] as unknown as (ctx: Ctx<M>, m: M) => void)(ctx, m);
}
