import type { Core, Ctx } from './core.js';

/**
 * A core whose sends and multicasts go through `outgoing` (built over the real context): how
 * Byzantine replicas are made for simulations and fault injection, a correct core whose outgoing
 * messages a liar rewrites. `onTimer` runs before each of the core's timers.
 */
export function rewriting<M>(core: Core<M>, outgoing: (ctx: Ctx<M>) => Pick<Ctx<M>, 'send' | 'multicast'>, onTimer?: (ctx: Ctx<M>) => void): Core<M> {
  const wrap = (ctx: Ctx<M>): Ctx<M> => {
    const out = outgoing(ctx);
    return {
      get now() {
        return ctx.now;
      },
      send: out.send,
      multicast: out.multicast,
      setTimer: (name, after) => ctx.setTimer(name, after),
      cancelTimer: (name) => ctx.cancelTimer(name),
    };
  };
  return {
    start: (ctx) => core.start(wrap(ctx)),
    receive: (ctx, m) => core.receive(wrap(ctx), m),
    timer: (ctx, name) => {
      onTimer?.(ctx);
      core.timer(wrap(ctx), name);
    },
  };
}
