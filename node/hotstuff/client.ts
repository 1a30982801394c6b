import { type BftClientParams, type ClientProtocol, KvClient, macReplies, type KvClientObserver, kvWorkload } from '../apps/kv-client.js';
import type { Random } from '../runtime/core.js';
import { replyMac } from './auth.js';
import type { HotStuffMsg } from './messages.js';

export type HotStuffClientParams = BftClientParams;

/**
 * HotStuff's client side (docs/hotstuff.md#clients): a request goes to every replica, first
 * send and retries alike. The leader rotates every view, so no single replica is the right one
 * to ask; every replica holds the request until it is committed, and the next correct leader
 * proposes it within one rotation. A result counts once f+1 replicas sent matching replies
 * under valid MACs (the paper's client rule: one of them is correct).
 */
export function hotstuffClient(p: HotStuffClientParams, rng: Random, obs: KvClientObserver): KvClient<HotStuffMsg> {
  const protocol: ClientProtocol<HotStuffMsg> = {
    quorum: p.f + 1,
    send: (ctx, payload) => ctx.multicast(p.replicas, { type: 'request', payload }),
    ...macReplies<HotStuffMsg>(p.keys, replyMac),
  };
  return new KvClient({ client: p.client, workload: kvWorkload(p.keySpace), requests: p.requests, retryUs: p.retryUs }, protocol, rng, obs);
}
