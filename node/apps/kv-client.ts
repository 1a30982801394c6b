import type { KvInput, KvOutput } from '../check/kv-model.js';
import type { Operation } from '../check/linearizability.js';
import { type Core, type Ctx, type NodeId, type Random, WireError } from '../runtime/core.js';
import { equalBytes, hex } from '../crypto/bytes.js';
import { decodeResult, encodeKvRequest } from './kv.js';
import { nextKvOp } from './kv-workload.js';
import { shardOf } from './shard.js';

/** What a replication protocol tells the generic client about its messages. */
export interface ClientProtocol<M> {
  /** Sends a request; `retry` after a timeout (protocols then widen where they send it). */
  send(ctx: Ctx<M>, payload: Uint8Array, retry: boolean): void;
  /**
   * A reply's identity and the part that must match across replicas, or null for other
   * messages. `result` is null in replies that only vouch for the order (HydraPaxos followers):
   * a quorum then also needs one reply of its match that carries the result.
   */
  reply(m: M): { replica: number; client: number; requestId: number; match: string; result: Uint8Array | null; part?: number } | null;
  /** Any other message (e.g. a configuration telling which sequencers are active). */
  observe?(ctx: Ctx<M>, m: M): void;
  /** Whether the reply's authenticator is valid for this client. */
  verify(m: M): 'ok' | 'bad-mac' | 'unknown-replica';
  /** Matching replies needed to accept a result. */
  quorum: number;
  /** Matching replies needed for this match, where matches differ in what they need (Zyzzyva: 3f+1 SPEC-RESPONSEs or 2f+1 LOCAL-COMMITs); `quorum` otherwise. */
  quorumFor?(match: string): number;
}

/**
 * What the client asks: the next operation, its request bytes and the parts (shards) that must
 * each reach a quorum; and the operation's output from one result per part.
 */
export interface ClientWorkload<I, O> {
  next(rng: Random, client: number, id: number): { input: I; payload: Uint8Array; parts: number[] };
  /** Throws a WireError for a result that does not decode (the client refuses that reply). */
  check(result: Uint8Array): void;
  output(results: Map<number, Uint8Array>): O;
}

/** Single-key get/put/compare-and-set over `keySpace` keys, answered by the replica group of the key's shard. */
export function kvWorkload(keySpace: number, groups = 1): ClientWorkload<KvInput, KvOutput> {
  return {
    next(rng, client, id) {
      const input = nextKvOp(rng, client, id, keySpace);
      return { input, payload: encodeKvRequest({ client, requestId: id, op: input }), parts: [shardOf(input.key, groups)] };
    },
    check: (result) => void decodeResult(result),
    output: (results) => decodeResult(results.values().next().value!),
  };
}

/** A BFT key-value client's parameters (PBFT's, HotStuff's): who it is, the group it asks, the keys it checks reply MACs with. */
export interface BftClientParams {
  client: number;
  f: number;
  replicas: NodeId[];
  /** keys[j]: the key this client shares with replica j (reply MACs). */
  keys: Uint8Array[];
  keySpace: number;
  requests: number;
  retryUs: number;
}

/** A replica's reply carrying an HMAC under the key it shares with the client (PBFT's and HotStuff's REPLY). */
export interface MacReply {
  type: 'reply';
  view: number;
  replica: number;
  client: number;
  requestId: number;
  result: Uint8Array;
  mac: Uint8Array;
}

/**
 * The reply side of a client protocol whose replies are MacReplies matched by their result:
 * `mac` computes a reply's MAC under a key; `accepted` sees each reply whose MAC is valid.
 */
export function macReplies<M extends { type: string }>(keys: Uint8Array[], mac: (r: MacReply, key: Uint8Array) => Uint8Array,
  accepted?: (r: MacReply) => void): Pick<ClientProtocol<M>, 'reply' | 'verify'> {
  const asReply = (m: M) => (m.type === 'reply' ? (m as unknown as MacReply) : null);
  return {
    reply(m) {
      const r = asReply(m);
      return r && { replica: r.replica, client: r.client, requestId: r.requestId, result: r.result, match: hex(r.result) };
    },
    verify(m) {
      const r = asReply(m);
      const key = r && keys[r.replica];
      if (!r || !key) return 'unknown-replica';
      if (!equalBytes(mac(r, key), r.mac)) return 'bad-mac';
      accepted?.(r);
      return 'ok';
    },
  };
}

/** A request's retry timeout doubles at most this many times. */
const MAX_RETRY_DOUBLINGS = 3;

export interface KvClientParams<I, O> {
  client: number;
  workload: ClientWorkload<I, O>;
  /** Requests to issue (closed loop: one outstanding at a time); Infinity for no limit. */
  requests: number;
  retryUs: number;
  /** Pause between one request's completion and the next (0: none); a paced workload for long simulations. */
  thinkUs?: number;
}

export interface KvClientObserver<I = KvInput, O = KvOutput> {
  completed(op: Operation<I, O>, latencyUs: number): void;
  retried(): void;
  rejectedReply(reason: 'bad-mac' | 'unknown-replica' | 'bad-result'): void;
}

interface Outstanding<I> {
  id: number;
  input: I;
  payload: Uint8Array;
  call: number;
  /** Times it was sent again. */
  retries: number;
  /** Per part: replicas per match, and the result of each match once a reply carried it. */
  parts: Map<number, { matches: Map<string, Set<number>>; results: Map<string, Uint8Array>; done: Uint8Array | null }>;
}

/**
 * A closed-loop key-value client over any replication protocol: one request outstanding, the
 * result accepted once `quorum` replicas sent matching replies under valid authenticators, a
 * retry on timeout. Every completed operation is recorded with its call and return times for
 * the linearizability checker.
 *
 * Request ids never repeat, not even across restarts of the client (which keep no state): the
 * replicas execute a client's request only if its id is above every id of that client they
 * executed (the exactly-once table, KvStore), so a restarted client that counted from 1 again
 * would never be answered. An incarnation starting at clock reading t numbers its requests
 * t + 1, t + 2, … and sends none before the clock has reached its id; every id of an earlier
 * incarnation is then at most the clock reading at its crash, below t + 1. (Calibrated wall
 * clocks in a process, `wallMicros`; the virtual clock in simulation. The clock must not step
 * back across a restart by more than the restart takes.) A new incarnation thus supersedes the
 * old one's entry, and the old one's unanswered request is simply lost.
 */
export class KvClient<M, I = KvInput, O = KvOutput> implements Core<M> {
  /** The clock reading at start: this incarnation's request ids follow it. */
  private base = 0;
  private current: Outstanding<I> | null = null;
  private issued = 0;
  private stopped = false;

  constructor(private readonly p: KvClientParams<I, O>, private readonly protocol: ClientProtocol<M>, private readonly rng: Random,
    private readonly obs: KvClientObserver<I, O>) {}

  /** The operation still waiting for replies (reported as never returned at the end of a run). */
  get pending(): Operation<I, O> | null {
    return this.current && { client: this.p.client, input: this.current.input, output: undefined, call: this.current.call, ret: Infinity };
  }

  start(ctx: Ctx<M>): void {
    this.base = Math.max(0, ctx.now);
    this.issue(ctx);
  }

  /** `{ "stop": true }`: issue nothing more (the outstanding request still completes), so a history can be read whole. */
  command(_ctx: Ctx<M>, command: unknown): void {
    if ((command as { stop?: unknown }).stop !== true) throw new Error('clients take {"stop": true}');
    this.stopped = true;
  }

  receive(ctx: Ctx<M>, m: M): void {
    const r = this.protocol.reply(m);
    if (!r) return this.protocol.observe?.(ctx, m);
    const c = this.current;
    if (!c || r.requestId !== c.id || r.client !== this.p.client) return;
    const verdict = this.protocol.verify(m);
    if (verdict !== 'ok') return this.obs.rejectedReply(verdict);
    const part = c.parts.get(r.part ?? 0);
    if (!part || part.done) return;
    if (r.result && !this.decodes(r.result)) return this.obs.rejectedReply('bad-result');
    const set = part.matches.get(r.match) ?? new Set<number>();
    set.add(r.replica);
    part.matches.set(r.match, set);
    if (r.result) part.results.set(r.match, r.result);
    const result = part.results.get(r.match);
    if (set.size < (this.protocol.quorumFor?.(r.match) ?? this.protocol.quorum) || !result) return;
    part.done = result;
    const results = new Map<number, Uint8Array>();
    for (const [k, v] of c.parts) {
      if (!v.done) return;
      results.set(k, v.done);
    }
    this.current = null;
    this.obs.completed({ client: this.p.client, input: c.input, output: this.p.workload.output(results), call: c.call, ret: ctx.now }, ctx.now - c.call);
    if (this.p.thinkUs) ctx.setTimer('pace', this.p.thinkUs);
    else this.issue(ctx);
  }

  timer(ctx: Ctx<M>, name: string): void {
    if (name === 'pace') return this.issue(ctx);
    if (name !== 'retry' || !this.current) return;
    this.obs.retried();
    this.protocol.send(ctx, this.current.payload, true);
    // Each retry waits twice as long (at most 8 × retryUs): on a slow testbed, fixed-period
    // retries add requests to order and execute exactly when the replicas can least afford them.
    this.current.retries++;
    ctx.setTimer('retry', this.p.retryUs * 2 ** Math.min(this.current.retries, MAX_RETRY_DOUBLINGS));
  }

  private decodes(result: Uint8Array): boolean {
    try {
      this.p.workload.check(result);
      return true;
    } catch (err) {
      if (err instanceof WireError) return false;
      throw err;
    }
  }

  private issue(ctx: Ctx<M>): void {
    if (this.stopped || this.issued >= this.p.requests) return;
    const id = this.base + this.issued + 1;
    if (id > ctx.now) return ctx.setTimer('pace', id - ctx.now);
    this.issued++;
    const { input, payload, parts } = this.p.workload.next(this.rng, this.p.client, id);
    this.current = { id, input, payload, call: ctx.now, retries: 0, parts: new Map(parts.map((g) => [g, { matches: new Map(), results: new Map(), done: null }])) };
    this.protocol.send(ctx, payload, false);
    ctx.setTimer('retry', this.p.retryUs);
  }
}
