import type { Ctx } from './core.js';

/** The member of the message union M whose `type` is T (one whose `type` is itself a union counts for each). */
export type MessageOf<T, M> = M extends { type: infer U } ? (T extends U ? M : never) : never;

/** One handler per message type: how a protocol host dispatches what it receives. */
export type Handlers<M extends { type: string }> = { [T in M['type']]: (ctx: Ctx<M>, m: MessageOf<T, M>) => void };

/** Hands `m` to its type's handler. */
export function dispatch<M extends { type: string }>(handlers: Handlers<M>, ctx: Ctx<M>, m: M): void {
  (handlers[m.type as M['type']] as unknown as (ctx: Ctx<M>, m: M) => void)(ctx, m);
}
