import { type ClientProtocol, KvClient, type KvClientObserver, kvWorkload } from '../apps/kv-client.js';
import type { NodeId, Random } from '../runtime/core.js';
import { Vouched } from '../apps/vouched.js';
import { verifyReply } from './auth.js';
import type { NeoMsg } from './messages.js';
import { hex } from '../crypto/bytes.js';

export interface NeoClientParams {
  client: number;
  f: number;
  replicas: NodeId[];
  /** The sequencer ordering each epoch. */
  sequencerOf(epoch: number): NodeId;
  group: number;
  /** The HMAC key shared with each replica, by replica index. */
  keys: Uint8Array[];
  keySpace: number;
  requests: number;
  retryUs: number;
  /** Signs a request (`spec.signedRequests`); requests go unsigned unless set. */
  sign?(request: Uint8Array): Uint8Array;
}

/**
 * NeoBFT's client side: requests go through AOM (to the group's sequencer); a result counts
 * once 2f+1 replicas agree on (view, slot, log hash, result); after a timeout the request is
 * sent again through AOM and directly to every replica. After a sequencer failover the client
 * follows the new epoch once f+1 replicas (one correct at least) replied from it; until then
 * the new leader passes the directly sent requests on to the new sequencer.
 */
export function neoClient(p: NeoClientParams, rng: Random, obs: KvClientObserver): KvClient<NeoMsg> {
  const epoch = new Vouched(p.f, 1);
  // A retry resends the same signed bytes (one signature per request).
  let signed: { request: Uint8Array; payload: Uint8Array } | null = null;
  const protocol: ClientProtocol<NeoMsg> = {
    quorum: 2 * p.f + 1,
    send(ctx, request, retry) {
      if (signed?.request !== request) signed = { request, payload: p.sign ? p.sign(request) : request };
      const { payload } = signed;
      ctx.send(p.sequencerOf(epoch.value), { type: 'aom-request', group: p.group, payload });
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
      if (!verifyReply(m, key)) return 'bad-mac';
      epoch.report(m.replica, m.view.epoch);
      return 'ok';
    },
  };
  return new KvClient({ client: p.client, workload: kvWorkload(p.keySpace), requests: p.requests, retryUs: p.retryUs }, protocol, rng, obs);
}
