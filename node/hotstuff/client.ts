import { type ClientProtocol, KvClient, type KvClientObserver, kvWorkload } from '../apps/kv-client.js';
import { equalBytes } from '../crypto/bytes.js';
import type { NodeId, Random } from '../runtime/core.js';
import { replyMac } from './auth.js';
import type { HotStuffMsg } from './messages.js';

export interface HotStuffClientParams {
  client: number;
  f: number;
  replicas: NodeId[];
  /** keys[j]: the key this client shares with replica j (reply MACs). */
  keys: Uint8Array[];
  keySpace: number;
  requests: number;
  retryUs: number;
}

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
    reply: (m) => (m.type === 'reply'
      ? { replica: m.replica, client: m.client, requestId: m.requestId, result: m.result, match: Buffer.from(m.result).toString('hex') }
      : null),
    verify(m) {
      if (m.type !== 'reply') return 'unknown-replica';
      const key = p.keys[m.replica];
      if (!key) return 'unknown-replica';
      return equalBytes(replyMac(m, key), m.mac) ? 'ok' : 'bad-mac';
    },
  };
  return new KvClient({ client: p.client, workload: kvWorkload(p.keySpace), requests: p.requests, retryUs: p.retryUs }, protocol, rng, obs);
}
