import { encodeKvRequest } from '../apps/kv.js';
import { sha256 } from '../crypto/hash.js';
import type { MacVectorKeys } from '../crypto/macvector.js';
import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { rewriting } from '../runtime/rewriting.js';
import { type AomHeader, type OrderedMulticast, authBytes } from './aom-messages.js';
import { type ReplicaKeys, replyMac, sign } from './auth.js';
import { forgedRequest } from './requests.js';
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
  return rewriting(core, (ctx) => ({
    send: (to, m) => {
      const out = lie(m);
      if (out) ctx.send(to, out);
    },
    multicast: (to, m) => {
      const out = lie(m);
      if (out) ctx.multicast(to, out);
    },
  }));
}

export type SequencerFault = 'none' | 'equivocate' | 'reorder' | 'forge';

/** Every this many sequence numbers, a misbehaving sequencer lies. */
export const SEQUENCER_LIE_EVERY = 7;

/** `m` re-authenticated (HM) for another payload under the same number. */
function reissued(m: OrderedMulticast, payload: Uint8Array, keys: MacVectorKeys): OrderedMulticast {
  const header: AomHeader = { ...m.header, digest: sha256(payload) };
  return { ...m, header, payload, auth: { scheme: 'hm', macs: keys.sign(authBytes(header)) } };
}

/**
 * A lying AOM sequencer holding its real HM keys. `equivocate`: every `every`-th number goes to
 * the first half of the receivers as the real request and to the other half as a different,
 * validly MACed one (a write of key k0 by a client that does not exist). `reorder`: the requests
 * of every `every`-th number and the next are swapped for the second half (each half sees both
 * requests, in opposite orders); the first of a pair waits for the second, or for the
 * sequencer's next timer. A receiver cannot tell either from its own view; only CONFIRMs
 * (Byzantine-network mode) expose it. `forge`: every `every`-th number carries, for every
 * receiver alike, a write of its own making in client 0's name (`forgedRequest`, with a made-up
 * signature when requests are signed): no CONFIRM can expose that, only the client's signature.
 */
export function lyingSequencer(core: Core<NeoMsg>, fault: SequencerFault, every: number, keys: MacVectorKeys, signedRequests = false): Core<NeoMsg> {
  if (fault === 'none' || every <= 0) return core;
  let held: { to: readonly NodeId[]; m: OrderedMulticast } | null = null;
  const release = (ctx: Ctx<NeoMsg>) => {
    if (held) ctx.multicast(held.to, held.m);
    held = null;
  };
  return rewriting(core, (ctx) => ({
    send: (to, m) => ctx.send(to, m),
    multicast: (to, m) => {
      if (m.type !== 'aom') return ctx.multicast(to, m);
      const half = Math.ceil(to.length / 2);
      if (fault === 'forge') {
        return ctx.multicast(to, m.header.seq % every === 0 ? reissued(m, forgedRequest(m.header.seq, signedRequests), keys) : m);
      }
      if (fault === 'equivocate') {
        if (m.header.seq % every !== 0) return ctx.multicast(to, m);
        ctx.multicast(to.slice(0, half), m);
        const forged = encodeKvRequest({ client: 999, requestId: m.header.seq, op: { op: 'put', key: 'k0', value: 'equivocated' } });
        return ctx.multicast(to.slice(half), reissued(m, forged, keys));
      }
      if (held && held.m.header.seq + 1 === m.header.seq) {
        const first = held.m;
        held = null;
        ctx.multicast(to.slice(0, half), first);
        ctx.multicast(to.slice(0, half), m);
        ctx.multicast(to.slice(half), reissued(first, m.payload, keys));
        ctx.multicast(to.slice(half), reissued(m, first.payload, keys));
        return;
      }
      release(ctx);
      if (m.header.seq % every === 0) held = { to, m };
      else ctx.multicast(to, m);
    },
  }), release);
}

/** A Byzantine client: every millisecond, a request of 1–40 random bytes (`request` wraps it) to `target`. */
export function garbageClient<M>(target: NodeId, request: (payload: Uint8Array) => M, rng: { int(n: number): number }): Core<M> {
  const spam = (ctx: Ctx<M>) => {
    ctx.send(target, request(Uint8Array.from({ length: 1 + rng.int(40) }, () => rng.int(256))));
    ctx.setTimer('spam', 1000);
  };
  return { start: spam, receive() {}, timer: spam };
}
