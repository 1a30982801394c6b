import { type ClientProtocol, KvClient, type KvClientObserver, kvWorkload } from '../apps/kv-client.js';
import { Vouched } from '../apps/vouched.js';
import { equalBytes } from '../crypto/bytes.js';
import type { NodeId, Random } from '../runtime/core.js';
import { pbftReplyMac } from './auth.js';
import type { PbftMsg } from './messages.js';

export interface PbftClientParams {
  client: number;
  f: number;
  replicas: NodeId[];
  keys: Uint8Array[];
  keySpace: number;
  requests: number;
  retryUs: number;
}

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
    reply: (m) => (m.type === 'reply'
      ? { replica: m.replica, client: m.client, requestId: m.requestId, result: m.result, match: Buffer.from(m.result).toString('hex') }
      : null),
    verify(m) {
      if (m.type !== 'reply') return 'unknown-replica';
      const key = p.keys[m.replica];
      if (!key) return 'unknown-replica';
      if (!equalBytes(pbftReplyMac(m, key), m.mac)) return 'bad-mac';
      view.report(m.replica, m.view);
      return 'ok';
    },
  };
  return new KvClient({ client: p.client, workload: kvWorkload(p.keySpace), requests: p.requests, retryUs: p.retryUs }, protocol, rng, obs);
}
