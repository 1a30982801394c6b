import { type ClientProtocol, KvClient, type KvClientObserver } from '../apps/kv-client.js';
import type { NodeId, Random } from '../runtime/core.js';
import { verifyReply } from './auth.js';
import type { NeoMsg } from './messages.js';

export interface NeoClientParams {
  client: number;
  f: number;
  replicas: NodeId[];
  sequencer: NodeId;
  group: number;
  /** The HMAC key shared with each replica, by replica index. */
  keys: Uint8Array[];
  keySpace: number;
  requests: number;
  retryUs: number;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * NeoBFT's client side: requests go through AOM (to the group's sequencer); a result counts
 * once 2f+1 replicas agree on (view, slot, log hash, result); after a timeout the request is
 * sent again through AOM and directly to every replica.
 */
export function neoClient(p: NeoClientParams, rng: Random, obs: KvClientObserver): KvClient<NeoMsg> {
  const protocol: ClientProtocol<NeoMsg> = {
    quorum: 2 * p.f + 1,
    send(ctx, payload, retry) {
      ctx.send(p.sequencer, { type: 'aom-request', group: p.group, payload });
      if (retry) ctx.multicast(p.replicas, { type: 'direct-request', payload });
    },
    reply: (m) => (m.type === 'reply'
      ? { replica: m.replica, client: m.client, requestId: m.requestId, result: m.result,
        match: `${m.view.epoch}/${m.view.leader}/${m.slot}/${hex(m.logHash)}/${hex(m.result)}` }
      : null),
    verify(m) {
      if (m.type !== 'reply') return 'unknown-replica';
      const key = p.keys[m.replica];
      if (!key) return 'unknown-replica';
      return verifyReply(m, key) ? 'ok' : 'bad-mac';
    },
  };
  return new KvClient({ client: p.client, keySpace: p.keySpace, requests: p.requests, retryUs: p.retryUs }, protocol, rng, obs);
}
