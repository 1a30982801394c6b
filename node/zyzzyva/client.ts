import { type ClientProtocol, KvClient, type KvClientObserver, kvWorkload } from '../apps/kv-client.js';
import { decodeKvRequest } from '../apps/kv.js';
import { Vouched } from '../apps/vouched.js';
import type { KvInput, KvOutput } from '../check/kv-model.js';
import type { Operation } from '../check/linearizability.js';
import { equalBytes, hex } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import type { SignatureBackend } from '../crypto/signature.js';
import type { Core, Ctx, NodeId, Random } from '../runtime/core.js';
import { verifyLocalCommit, verifyOrder, verifyResponse } from './auth.js';
import type { OrderHeader, Pom, SignedResponse, ZyzzyvaMsg } from './messages.js';

export interface ZyzzyvaClientParams {
  client: number;
  f: number;
  replicas: NodeId[];
  /** keys[i]: the key shared with replica i (LOCAL-COMMIT MACs). */
  keys: Uint8Array[];
  /** The replicas' public keys (SPEC-RESPONSE and ORDER-REQ signatures). */
  publicKeys: Uint8Array[];
  backend: SignatureBackend;
  keySpace: number;
  requests: number;
  retryUs: number;
  /** How long the client waits for 3f+1 matching SPEC-RESPONSEs before it commits 2f+1 (§3.3). */
  commitTimeoutUs: number;
}

/** The client's observer: a KvClient's, and which path each operation completed on. */
export interface ZyzzyvaClientObserver extends KvClientObserver {
  /** Completed on 3f+1 matching SPEC-RESPONSEs. */
  fastPath(): void;
  /** Completed on 2f+1 LOCAL-COMMITs of a commit certificate. */
  twoPhase(): void;
}

/**
 * Zyzzyva's client (docs/zyzzyva.md#client; SOSP'07 §3.2–3.4), on the shared KvClient: a request
 * goes to the primary of the latest view f+1 replicas' valid responses named; it completes on
 * 3f+1 matching SPEC-RESPONSEs; after `commitTimeoutUs` with 2f+1 matching ones, the client sends
 * them as a commit certificate (COMMIT) to every replica and completes on 2f+1 LOCAL-COMMITs; at
 * a retry the request goes to every replica too (and the certificate again, if any). Two validly signed ORDER-REQs of one view
 * for one sequence number with different histories, seen in responses, go to every replica as a POM.
 */
export function zyzzyvaClient(p: ZyzzyvaClientParams, rng: Random, obs: ZyzzyvaClientObserver): Core<ZyzzyvaMsg> & { readonly pending: Operation<KvInput, KvOutput> | null } {
  const view = new Vouched(p.f, 0);
  const keys = { publicKeys: p.publicKeys, backend: p.backend };
  let requestId = -1;
  /** The current request's verified signed responses, by what they match on. */
  const responses = new Map<string, SignedResponse[]>();
  /** The first ORDER-REQ header seen per view and sequence number (checked only when another contradicts it). */
  const orders = new Map<string, OrderHeader>();
  let pom: Pom | null = null;
  let lastType = '';
  const specMatch = (s: SignedResponse) => `spec:${s.seq}:${hex(s.history)}:${hex(s.resultDigest)}`;

  const sawOrder = (h: OrderHeader) => {
    if (h.sig.length === 0) return;
    const k = `${h.view}:${h.seq}`;
    const prev = orders.get(k);
    if (!prev) return void orders.set(k, h);
    const primary = h.view % p.replicas.length;
    if (equalBytes(prev.history, h.history) || !verifyOrder(h, primary, keys)) return;
    // A forged first header must not hide a real contradiction: the valid one takes its place.
    if (verifyOrder(prev, primary, keys)) pom = { type: 'pom', a: prev, b: h };
    else orders.set(k, h);
  };

  /** A commit certificate for the current request, sent to every replica, if 2f+1 responses match. */
  const commit = (ctx: Ctx<ZyzzyvaMsg>): boolean => {
    const cc = [...responses.values()].find((rs) => rs.length >= 2 * p.f + 1);
    if (!cc) return false;
    ctx.multicast(p.replicas, { type: 'commit', client: p.client, requestId, cc: cc.slice(0, 2 * p.f + 1) });
    return true;
  };

  const protocol: ClientProtocol<ZyzzyvaMsg> = {
    quorum: 3 * p.f + 1,
    quorumFor: (match) => (match.startsWith('commit:') ? 2 * p.f + 1 : 3 * p.f + 1),
    send(ctx, payload, retry) {
      const id = decodeKvRequest(payload).requestId;
      if (id !== requestId) {
        requestId = id;
        responses.clear();
        orders.clear();
      }
      if (!retry) {
        ctx.send(p.replicas[view.value % p.replicas.length]!, { type: 'request', payload });
        ctx.setTimer('commit', p.commitTimeoutUs);
      } else {
        // Replicas that executed it answer again (a lost SPEC-RESPONSE); others relay it to the primary.
        commit(ctx);
        ctx.multicast(p.replicas, { type: 'request', payload });
      }
    },
    reply(m) {
      if (m.type === 'spec-response') {
        const s = m.response;
        return { replica: s.replica, client: s.client, requestId: s.requestId, match: specMatch(s), result: m.result };
      }
      if (m.type === 'local-commit') {
        // A correct replica sends one only for a committed request, and committed results are
        // one: 2f+1 match on the result alone (replicas that took a state name its checkpoint).
        return { replica: m.replica, client: m.client, requestId: m.requestId, match: `commit:${hex(m.result)}`, result: m.result };
      }
      return null;
    },
    verify(m) {
      if (m.type === 'local-commit') {
        const key = p.keys[m.replica];
        if (!key) return 'unknown-replica';
        return verifyLocalCommit(m, key) ? 'ok' : 'bad-mac';
      }
      if (m.type !== 'spec-response') return 'unknown-replica';
      const s = m.response;
      if (p.publicKeys[s.replica] === undefined) return 'unknown-replica';
      if (!equalBytes(sha256(m.result), s.resultDigest) || !verifyResponse(s, keys)) return 'bad-mac';
      view.report(s.replica, s.view);
      const rs = responses.get(specMatch(s)) ?? [];
      if (!rs.some((x) => x.replica === s.replica)) rs.push(s);
      responses.set(specMatch(s), rs);
      sawOrder(m.order);
      return 'ok';
    },
  };
  const kv = new KvClient<ZyzzyvaMsg>({ client: p.client, workload: kvWorkload(p.keySpace), requests: p.requests, retryUs: p.retryUs }, protocol, rng, {
    completed(op, latencyUs) {
      if (lastType === 'local-commit') obs.twoPhase();
      else obs.fastPath();
      obs.completed(op, latencyUs);
    },
    retried: () => obs.retried(),
    rejectedReply: (why) => obs.rejectedReply(why),
  });
  return {
    get pending() {
      return kv.pending;
    },
    start: (ctx) => kv.start(ctx),
    command: (ctx, c) => kv.command(ctx, c),
    receive(ctx, m) {
      lastType = m.type;
      kv.receive(ctx, m);
      if (pom) ctx.multicast(p.replicas, pom);
      pom = null;
    },
    timer(ctx, name) {
      if (name !== 'commit') return kv.timer(ctx, name);
      if (kv.pending) commit(ctx);
    },
  };
}
