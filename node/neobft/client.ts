import { decodeResult, encodeKvRequest } from '../apps/kv.js';
import type { KvInput, KvOutput } from '../check/kv-model.js';
import type { Operation } from '../check/linearizability.js';
import type { Core, Ctx, NodeId, Random } from '../runtime/core.js';
import { verifyReply } from './auth.js';
import type { NeoMsg } from './messages.js';
import type { Reply } from './protocol-messages.js';

export interface ClientParams {
  client: number;
  f: number;
  replicas: NodeId[];
  sequencer: NodeId;
  group: number;
  /** The HMAC key shared with each replica, by replica index. */
  keys: Uint8Array[];
  keySpace: number;
  /** Requests to issue (closed loop: one outstanding at a time); Infinity for no limit. */
  requests: number;
  retryUs: number;
}

export interface ClientObserver {
  completed(op: Operation<KvInput, KvOutput>, latencyUs: number): void;
  retried(): void;
  rejectedReply(reason: 'bad-mac' | 'unknown-replica'): void;
}

interface Outstanding {
  id: number;
  input: KvInput;
  payload: Uint8Array;
  call: number;
  replies: Map<number, Reply>;
}

/**
 * A NeoBFT client: sends its request through AOM (to the group's sequencer), accepts the result
 * once 2f+1 replicas sent matching (view, slot, log hash, result) under valid MACs, and on a
 * timeout resends through AOM and directly to every replica. Every operation it completes is
 * recorded with its call and return times for the linearizability checker.
 */
export class NeoClient implements Core<NeoMsg> {
  private nextId = 0;
  private current: Outstanding | null = null;
  private issued = 0;
  private stopped = false;

  constructor(private readonly p: ClientParams, private readonly rng: Random, private readonly obs: ClientObserver) {}

  /** The operation still waiting for replies (reported as never returned at the end of a run). */
  get pending(): Operation<KvInput, KvOutput> | null {
    return this.current && { client: this.p.client, input: this.current.input, output: undefined, call: this.current.call, ret: Infinity };
  }

  start(ctx: Ctx<NeoMsg>): void {
    this.issue(ctx);
  }

  receive(ctx: Ctx<NeoMsg>, m: NeoMsg): void {
    if (m.type !== 'reply' || !this.current || m.requestId !== this.current.id || m.client !== this.p.client) return;
    const key = this.p.keys[m.replica];
    if (!key) return this.obs.rejectedReply('unknown-replica');
    if (!verifyReply(m, key)) return this.obs.rejectedReply('bad-mac');
    const c = this.current;
    c.replies.set(m.replica, m);
    const groups = new Map<string, number>();
    for (const r of c.replies.values()) {
      const k = `${r.view.epoch}/${r.view.leader}/${r.slot}/${Buffer.from(r.logHash).toString('hex')}/${Buffer.from(r.result).toString('hex')}`;
      const n = (groups.get(k) ?? 0) + 1;
      groups.set(k, n);
      if (n >= 2 * this.p.f + 1) {
        this.current = null;
        this.obs.completed({ client: this.p.client, input: c.input, output: decodeResult(r.result), call: c.call, ret: ctx.now }, ctx.now - c.call);
        this.issue(ctx);
        return;
      }
    }
  }

  timer(ctx: Ctx<NeoMsg>, name: string): void {
    if (name !== 'retry' || !this.current) return;
    this.obs.retried();
    ctx.send(this.p.sequencer, { type: 'aom-request', group: this.p.group, payload: this.current.payload });
    ctx.multicast(this.p.replicas, { type: 'direct-request', payload: this.current.payload });
    ctx.setTimer('retry', this.p.retryUs);
  }

  /** `{ "stop": true }`: issue nothing more (the outstanding request still completes), so a history can be read whole. */
  command(_ctx: Ctx<NeoMsg>, command: unknown): void {
    if ((command as { stop?: unknown }).stop !== true) throw new Error('clients take {"stop": true}');
    this.stopped = true;
  }

  private issue(ctx: Ctx<NeoMsg>): void {
    if (this.stopped || this.issued >= this.p.requests) return;
    this.issued++;
    const id = ++this.nextId;
    const key = `k${Math.floor(this.rng.next() * this.p.keySpace)}`;
    const r = this.rng.next();
    const input: KvInput = r < 0.4 ? { op: 'get', key }
      : r < 0.8 ? { op: 'put', key, value: `c${this.p.client}-${id}` }
      : { op: 'cas', key, expected: this.rng.next() < 0.5 ? null : `c${this.p.client}-${id - 1}`, value: `c${this.p.client}-${id}` };
    const payload = encodeKvRequest({ client: this.p.client, requestId: id, op: input });
    this.current = { id, input, payload, call: ctx.now, replies: new Map() };
    ctx.send(this.p.sequencer, { type: 'aom-request', group: this.p.group, payload });
    ctx.setTimer('retry', this.p.retryUs);
  }
}
