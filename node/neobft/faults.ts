import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { type ReplicaKeys, replyMac, sign } from './auth.js';
import type { NeoMsg } from './messages.js';

/**
 * Byzantine replicas for simulations and fault-injection runs: a correct replica whose outgoing
 * messages are rewritten by a liar, which holds the replica's real keys (so its lies carry valid
 * MACs and signatures — the protocol must survive them, not merely reject forgeries).
 */
export type ReplicaFault = 'silent' | 'corrupt-replies' | 'wrong-results' | 'equivocating';

export function byzantine(core: Core<NeoMsg>, fault: Exclude<ReplicaFault, 'silent'>, keys: ReplicaKeys,
  clientKey: (client: number) => Uint8Array, garbage: () => Uint8Array): Core<NeoMsg> {
  const lie = (m: NeoMsg): NeoMsg | null => {
    if (m.type === 'reply') {
      if (fault === 'corrupt-replies') return { ...m, mac: garbage() };
      if (fault === 'wrong-results') {
        const forged = { ...m, result: new TextEncoder().encode('{"value":"forged"}') };
        return { ...forged, mac: replyMac(forged, clientKey(m.client)) };
      }
    }
    if (fault === 'equivocating') {
      // Validly signed votes for a made-up outcome, and no help finding lost messages.
      if (m.type === 'gap-prepare' || m.type === 'gap-commit') return sign({ ...m, digest: garbage() }, keys);
      if (m.type === 'gap-recv' || m.type === 'query-reply') return null;
    }
    return m;
  };
  const wrap = (ctx: Ctx<NeoMsg>): Ctx<NeoMsg> => ({
    get now() {
      return ctx.now;
    },
    send: (to: NodeId, m: NeoMsg) => {
      const out = lie(m);
      if (out) ctx.send(to, out);
    },
    multicast: (to: readonly NodeId[], m: NeoMsg) => {
      const out = lie(m);
      if (out) ctx.multicast(to, out);
    },
    setTimer: (name, after) => ctx.setTimer(name, after),
    cancelTimer: (name) => ctx.cancelTimer(name),
  });
  return {
    start: (ctx) => core.start(wrap(ctx)),
    receive: (ctx, m) => core.receive(wrap(ctx), m),
    timer: (ctx, name) => core.timer(wrap(ctx), name),
  };
}
