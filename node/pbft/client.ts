import { type BftClientParams, type ClientProtocol, KvClient, macReplies, type KvClientObserver, kvWorkload } from '../apps/kv-client.js';
import { Vouched } from '../apps/vouched.js';
import type { Random } from '../runtime/core.js';
import { pbftReplyMac } from './auth.js';
import type { PbftMsg } from './messages.js';

export type PbftClientParams = BftClientParams;

/**
 * PBFT's client side: a request goes to the primary of the latest view f+1 replicas' valid
 * replies named (so a Byzantine replica cannot misdirect it), after a timeout to every replica
 * (backups relay it and start suspecting the primary); a result counts once f+1 replicas agree
 * on it (one of them is correct, and a correct replica replies only with committed results —
 * replies of one request may name different views when a view change falls between them). With
 * one server and f = 0 it is the unreplicated baseline's client.
 */
export function pbftClient(p: PbftClientParams, rng: Random, obs: KvClientObserver): KvClient<PbftMsg> {
  const view = new Vouched(p.f, 0);
  const protocol: ClientProtocol<PbftMsg> = {
    quorum: p.f + 1,
    send(ctx, payload, retry) {
      if (retry) ctx.multicast(p.replicas, { type: 'request', payload });
      else ctx.send(p.replicas[view.value % p.replicas.length]!, { type: 'request', payload });
    },
    ...macReplies<PbftMsg>(p.keys, pbftReplyMac, (r) => view.report(r.replica, r.view)),
  };
  return new KvClient({ client: p.client, workload: kvWorkload(p.keySpace), requests: p.requests, retryUs: p.retryUs }, protocol, rng, obs);
}
