import type { KvInput, KvOutput } from '../check/kv-model.js';
import type { Operation } from '../check/linearizability.js';
import type { Core, Ctx, Random } from '../runtime/core.js';
import { decodeResult, encodeKvRequest } from './kv.js';
import { nextKvOp } from './kv-workload.js';

/** What a replication protocol tells the generic client about its messages. */
export interface ClientProtocol<M> {
  /** Sends a request; `retry` after a timeout (protocols then widen where they send it). */
  send(ctx: Ctx<M>, payload: Uint8Array, retry: boolean): void;
  /**
   * A reply's identity and the part that must match across replicas, or null for other
   * messages. `result` is null in replies that only vouch for the order (HydraPaxos followers):
   * a quorum then also needs one reply of its match that carries the result.
   */
  reply(m: M): { replica: number; client: number; requestId: number; match: string; result: Uint8Array | null } | null;
  /** Any other message (e.g. a configuration telling which sequencers are active). */
  observe?(ctx: Ctx<M>, m: M): void;
  /** Whether the reply's authenticator is valid for this client. */
  verify(m: M): 'ok' | 'bad-mac' | 'unknown-replica';
  /** Matching replies needed to accept a result. */
  quorum: number;
}

export interface KvClientParams {
  client: number;
  keySpace: number;
  /** Requests to issue (closed loop: one outstanding at a time); Infinity for no limit. */
  requests: number;
  retryUs: number;
}

export interface KvClientObserver {
  completed(op: Operation<KvInput, KvOutput>, latencyUs: number): void;
  retried(): void;
  rejectedReply(reason: 'bad-mac' | 'unknown-replica'): void;
}

interface Outstanding {
  id: number;
  input: KvInput;
  payload: Uint8Array;
  call: number;
  matches: Map<string, Set<number>>;
  results: Map<string, Uint8Array>;
}

/**
 * A closed-loop key-value client over any replication protocol: one request outstanding, the
 * result accepted once `quorum` replicas sent matching replies under valid authenticators, a
 * retry on timeout. Every completed operation is recorded with its call and return times for
 * the linearizability checker.
 */
export class KvClient<M> implements Core<M> {
  private nextId = 0;
  private current: Outstanding | null = null;
  private issued = 0;
  private stopped = false;

  constructor(private readonly p: KvClientParams, private readonly protocol: ClientProtocol<M>, private readonly rng: Random,
    private readonly obs: KvClientObserver) {}

  /** The operation still waiting for replies (reported as never returned at the end of a run). */
  get pending(): Operation<KvInput, KvOutput> | null {
    return this.current && { client: this.p.client, input: this.current.input, output: undefined, call: this.current.call, ret: Infinity };
  }

  start(ctx: Ctx<M>): void {
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
    const set = c.matches.get(r.match) ?? new Set<number>();
    set.add(r.replica);
    c.matches.set(r.match, set);
    if (r.result) c.results.set(r.match, r.result);
    const result = c.results.get(r.match);
    if (set.size < this.protocol.quorum || !result) return;
    this.current = null;
    this.obs.completed({ client: this.p.client, input: c.input, output: decodeResult(result), call: c.call, ret: ctx.now }, ctx.now - c.call);
    this.issue(ctx);
  }

  timer(ctx: Ctx<M>, name: string): void {
    if (name !== 'retry' || !this.current) return;
    this.obs.retried();
    this.protocol.send(ctx, this.current.payload, true);
    ctx.setTimer('retry', this.p.retryUs);
  }

  private issue(ctx: Ctx<M>): void {
    if (this.stopped || this.issued >= this.p.requests) return;
    this.issued++;
    const id = ++this.nextId;
    const input = nextKvOp(this.rng, this.p.client, id, this.p.keySpace);
    const payload = encodeKvRequest({ client: this.p.client, requestId: id, op: input });
    this.current = { id, input, payload, call: ctx.now, matches: new Map(), results: new Map() };
    this.protocol.send(ctx, payload, false);
    ctx.setTimer('retry', this.p.retryUs);
  }
}
