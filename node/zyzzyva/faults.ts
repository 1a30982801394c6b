import { sha256 } from '../crypto/hash.js';
import type { Core, Ctx } from '../runtime/core.js';
import { rewriting } from '../runtime/rewriting.js';
import { type ZyzzyvaKeys, batchDigest, extend, localCommitMac, signMsg, signOrder, signResponse } from './auth.js';
import type { OrderReq, ZyzzyvaMsg } from './messages.js';
import type { ZyzzyvaReplica } from './replica.js';

/** An equivocating primary lies about every this many sequence numbers. */
export const EQUIVOCATE_EVERY = 5;

const forgedResult = new TextEncoder().encode('{"value":"forged"}');

/**
 * Byzantine Zyzzyva replicas (docs/zyzzyva.md#faults): a correct replica whose outgoing messages
 * a liar holding its real keys rewrites, so the lies carry valid signatures and MACs.
 * - `equivocating`: as primary, every EQUIVOCATE_EVERY-th ORDER-REQ goes to half the backups as
 *   ordered and to the other half for another batch (one junk request more) under the same n, so
 *   two histories exist (clients see both: POM, view change); as a backup, its SPEC-RESPONSEs and
 *   CHECKPOINTs name made-up histories and states (inconsistent with the others').
 * - `corrupt-replies`: its SPEC-RESPONSE signatures and LOCAL-COMMIT MACs are garbage.
 * - `wrong-results`: its SPEC-RESPONSEs and LOCAL-COMMITs carry a made-up result under valid signatures and MACs.
 * ('silent' is a core that does nothing, made by the wiring.)
 */
export function zyzzyvaByzantine(core: ZyzzyvaReplica, fault: 'equivocating' | 'corrupt-replies' | 'wrong-results', keys: ZyzzyvaKeys,
  clientKey: (client: number) => Uint8Array, garbage: () => Uint8Array): Core<ZyzzyvaMsg> {
  const lie = (m: ZyzzyvaMsg): ZyzzyvaMsg => {
    if (m.type === 'spec-response') {
      if (fault === 'corrupt-replies') return { ...m, response: { ...m.response, sig: garbage() } };
      if (fault === 'wrong-results') return { ...m, result: forgedResult, response: signResponse({ ...m.response, resultDigest: sha256(forgedResult) }, keys) };
      if (fault === 'equivocating' && !core.primary) return { ...m, response: signResponse({ ...m.response, history: sha256(garbage()) }, keys) };
    }
    if (m.type === 'local-commit') {
      if (fault === 'corrupt-replies') return { ...m, mac: garbage().subarray(0, 32) };
      if (fault === 'wrong-results') {
        const forged = { ...m, result: forgedResult };
        return { ...forged, mac: localCommitMac(forged, clientKey(m.client)) };
      }
    }
    if (m.type === 'checkpoint' && fault === 'equivocating') return signMsg({ ...m, digest: sha256(garbage()) }, keys);
    return m;
  };
  /** The other history for the second half: the same n, another batch. */
  const other = (m: OrderReq): OrderReq => {
    const batch = [...m.batch, garbage()];
    const digest = batchDigest(batch);
    return signOrder<OrderReq>({ ...m, batch, digest, history: extend(core.history.historyAt(m.seq - 1) ?? m.history, digest) }, keys);
  };
  return rewriting<ZyzzyvaMsg>(core, (ctx: Ctx<ZyzzyvaMsg>) => ({
    send: (to, m) => ctx.send(to, lie(m)),
    multicast: (to, m) => {
      if (fault !== 'equivocating' || m.type !== 'order-req' || m.seq % EQUIVOCATE_EVERY !== 0) return ctx.multicast(to, lie(m));
      const half = Math.ceil(to.length / 2);
      ctx.multicast(to.slice(0, half), m);
      ctx.multicast(to.slice(half), other(m));
    },
  }));
}
