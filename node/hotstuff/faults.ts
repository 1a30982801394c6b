import { encodeKvRequest } from '../apps/kv.js';
import type { Core, Ctx } from '../runtime/core.js';
import { type HotStuffKeys, blockHash, replyMac, signProposal, signVote } from './auth.js';
import type { HotStuffMsg, Proposal } from './messages.js';
import type { HotStuffReplica } from './replica.js';

export type HotStuffFault = 'equivocating' | 'corrupt-replies' | 'wrong-results';

/**
 * Byzantine HotStuff replicas for simulations and fault-injection runs (docs/hotstuff.md#faults):
 * a correct replica whose outgoing messages are rewritten by a liar holding its real keys, so
 * its lies carry valid signatures and MACs.
 * - equivocating: as leader, each proposal goes as is to the first half of the others and as a
 *   second, validly signed block of the same view (its batch: a write by a client that does not exist)
 *   to the second half; as voter, it votes for every proposal it receives, safe or not.
 * - corrupt-replies: replies carry garbled MACs.
 * - wrong-results: replies carry a made-up result under a valid MAC.
 * ('silent' is a core that does nothing, done by the wiring.)
 */
export function hotstuffByzantine(core: HotStuffReplica, fault: HotStuffFault, keys: HotStuffKeys,
  clientKey: (c: number) => Uint8Array, garbage: () => Uint8Array): Core<HotStuffMsg> {
  const replicas = core.p.replicas;
  const lie = (m: HotStuffMsg): HotStuffMsg => {
    if (m.type !== 'reply') return m;
    if (fault === 'corrupt-replies') return { ...m, mac: garbage() };
    if (fault === 'wrong-results') {
      const forged = { ...m, result: new TextEncoder().encode('{"value":"forged"}') };
      return { ...forged, mac: replyMac(forged, clientKey(m.client)) };
    }
    return m;
  };
  const twin = (m: Proposal): Proposal => {
    // A write in the name of a client the testbed does not have: refused alike by every correct replica if it ever commits.
    const request = encodeKvRequest({ client: 60_000, requestId: m.block.view, op: { op: 'put', key: 'k0', value: 'equivocated' } });
    return signProposal(m.replica, { ...m.block, batch: [request] }, keys);
  };
  const wrap = (ctx: Ctx<HotStuffMsg>): Ctx<HotStuffMsg> => ({
    get now() {
      return ctx.now;
    },
    send: (to, m) => ctx.send(to, lie(m)),
    multicast: (to, m) => {
      if (fault !== 'equivocating' || m.type !== 'proposal') return ctx.multicast(to, lie(m));
      const half = Math.ceil(to.length / 2);
      ctx.multicast(to.slice(0, half), m);
      ctx.multicast(to.slice(half), twin(m));
    },
    setTimer: (name, after) => ctx.setTimer(name, after),
    cancelTimer: (name) => ctx.cancelTimer(name),
  });
  return {
    start: (ctx) => core.start(wrap(ctx)),
    receive: (ctx, m) => {
      if (fault === 'equivocating' && m.type === 'proposal') {
        const leader = core.leaderOf(m.block.view + 1);
        if (leader !== core.me) ctx.send(replicas[leader]!, signVote(m.block.view, core.me, blockHash(m.block), keys));
      }
      core.receive(wrap(ctx), m);
    },
    timer: (ctx, name) => core.timer(wrap(ctx), name),
  };
}
