import { type KvRequest, encodeResult, openRequest } from '../apps/kv.js';
import { equalBytes } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import type { Ctx } from '../runtime/core.js';
import { batchDigest, extend, signOrder, signResponse, verifyOrder } from './auth.js';
import { CP_INTERVAL } from './checkpoint.js';
import type { Entry } from './history.js';
import type { ConfirmReq, FillHole, OrderReq, SpecResponse, ZyzzyvaMsg } from './messages.js';
import type { ZyzzyvaReplica } from './replica.js';

/** The ordering window: nothing is ordered this far past the stable checkpoint (bounds a VIEW-CHANGE). */
export const WINDOW = 4 * CP_INTERVAL;
/** ORDER-REQs sent in answer to one FILL-HOLE or CONFIRM-REQ. */
const FILL_MAX = WINDOW;

/**
 * Agreement (docs/zyzzyva.md#agreement; SOSP'07 §3.2, §3.4): the primary orders batches of
 * requests (ORDER-REQ, adaptive batching), every replica executes an ORDER-REQ that extends its
 * history at once, speculatively, and sends its SPEC-RESPONSE to the client. A backup relays a
 * request it has not seen ordered to the primary (CONFIRM-REQ) and watches it (view-change.ts); a
 * replica that sees a hole in the sequence asks for the ORDER-REQs it misses (FILL-HOLE), of the
 * primary first and of every replica after a retry period.
 */
export class Agreement {
  private queue: Uint8Array[] = [];
  private lastFlush = -Infinity;
  /** ORDER-REQs of the current view above the top of the history, waiting for the hole below them. */
  private readonly early = new Map<number, OrderReq>();
  /** The SPEC-RESPONSE last sent to each client (a retried request gets it again). */
  private readonly responses = new Map<number, SpecResponse>();
  /** The hole asked for at the last retry tick (asked again of everyone if still open). */
  private asked: { top: number; to: number } | null = null;
  /** The top of the history the primary last sent again when idle. */
  private announced = 0;

  constructor(private readonly r: ZyzzyvaReplica) {}

  describe(): string {
    return `early=${[...this.early.keys()].join(',')} queue=${this.queue.length}`;
  }


  /** A request's payload decoded, or null with the refusal counted. */
  private open(payload: Uint8Array): KvRequest | null {
    return openRequest(payload, this.r.p.clients, (why) => this.r.obs.invalid(why));
  }

  onRequest(ctx: Ctx<ZyzzyvaMsg>, payload: Uint8Array): void {
    const r = this.r;
    const request = this.open(payload);
    if (!request) return;
    if (this.answer(ctx, request)) return;
    if (!r.primary || !r.active) {
      r.viewChange.watch(ctx, request, payload);
      if (r.active) ctx.send(r.p.replicas[r.primaryOf(r.view)]!, { type: 'confirm-req', view: r.view, replica: r.me, have: r.history.top, payload });
      return;
    }
    this.enqueue(ctx, payload);
  }

  /**
   * A request this replica executed: its client gets the response again. One we hold no response
   * for was executed in a state we took (state transfer): it lies below a stable checkpoint, so it
   * is committed, and the client gets a LOCAL-COMMIT for it. True if it was executed.
   * (A LOCAL-COMMIT names the request's commit point, or the checkpoint of the state taken.)
   */
  private answer(ctx: Ctx<ZyzzyvaMsg>, q: KvRequest): boolean {
    const r = this.r;
    if (!r.store.answered(q.client, q.requestId)) return false;
    const sent = this.responses.get(q.client);
    const last = r.store.lastOf(q.client)!;
    if (sent && sent.response.requestId === q.requestId) {
      ctx.send(r.p.clientNode(q.client), sent);
      // Committed already (a certificate or a stable checkpoint at or past it): a LOCAL-COMMIT too,
      // for a client that cannot gather 2f+1 matching responses any more (some replicas took a state).
      if (sent.response.seq <= r.commit.max.seq) r.commit.sendLocalCommit(ctx, q, sent.response, sent.result);
    } else if (last.requestId === q.requestId) r.commit.sendLocalCommit(ctx, q, r.history.base, encodeResult(last.result));
    return true;
  }

  private enqueue(ctx: Ctx<ZyzzyvaMsg>, payload: Uint8Array): void {
    if (this.queue.some((q) => equalBytes(q, payload))) return;
    this.queue.push(payload);
    // Adaptive batching: an idle primary orders at once; a busy one gathers what arrives
    // within the batch delay (or a full batch).
    if (this.queue.length >= this.r.p.maxBatch || ctx.now - this.lastFlush >= this.r.p.batchDelayUs) this.flush(ctx);
    else ctx.setTimer('batch', this.r.p.batchDelayUs);
  }

  /** The primary orders the queued requests as one batch, within the window. */
  flush(ctx: Ctx<ZyzzyvaMsg>): void {
    const r = this.r;
    ctx.cancelTimer('batch');
    if (this.queue.length === 0 || !r.primary || !r.active) return;
    if (r.history.top >= r.checkpoint.stable.seq + WINDOW) return;
    const batch = this.queue.splice(0, r.p.maxBatch);
    this.lastFlush = ctx.now;
    const digest = batchDigest(batch);
    const seq = r.history.top + 1;
    const order = this.order({ seq, history: extend(r.history.head, digest), batch });
    r.obs.batched(batch.length);
    ctx.multicast(r.others(), order);
    this.execute(ctx, { seq, view: r.view, history: order.history, digest, batch, order, undo: [] });
    if (this.queue.length > 0) ctx.setTimer('batch', r.p.batchDelayUs);
  }

  /**
   * ORDER-REQ. Its signature is checked only when it is used (executed, kept as ours, or showing a
   * later view): copies from FILL-HOLE answers and retransmissions cost no verification.
   */
  onOrderReq(ctx: Ctx<ZyzzyvaMsg>, m: OrderReq): void {
    const r = this.r;
    if (m.view < r.view) return;
    if (m.view > r.view) {
      if (verifyOrder(m, r.primaryOf(m.view), r.p.keys)) r.recovery.witnessed(ctx, r.primaryOf(m.view), m.view);
      else r.obs.invalid('bad-signature');
      return;
    }
    if (m.seq <= r.history.top) return this.duplicate(m);
    if (m.seq > r.checkpoint.stable.seq + WINDOW) return r.obs.invalid('outside-window');
    if (!r.active || m.seq > r.history.top + 1) {
      if (this.early.size < WINDOW && !this.early.has(m.seq)) this.early.set(m.seq, m);
      if (r.active) this.fillHole(ctx, m.seq - 1);
      return;
    }
    this.accept(ctx, m);
    this.drain(ctx);
  }

  /** An ORDER-REQ for a batch we executed: kept if we hold no signed one for it, refused if it contradicts ours. */
  private duplicate(m: OrderReq): void {
    const r = this.r;
    const e = r.history.get(m.seq);
    if (!e || (e.order && equalBytes(e.order.sig, m.sig))) return;
    if (!verifyOrder(m, r.primaryOf(m.view), r.p.keys)) return r.obs.invalid('bad-signature');
    if (!equalBytes(e.history, m.history)) return r.obs.invalid('conflicting-order-req');
    e.order ??= m;
  }

  /** The next ORDER-REQ in sequence: executed if it is the primary's and extends the history. */
  private accept(ctx: Ctx<ZyzzyvaMsg>, m: OrderReq): void {
    const r = this.r;
    if (!verifyOrder(m, r.primaryOf(m.view), r.p.keys)) return r.obs.invalid('bad-signature');
    if (!equalBytes(batchDigest(m.batch), m.digest)) return r.obs.invalid('bad-digest');
    if (!equalBytes(extend(r.history.head, m.digest), m.history)) return r.obs.invalid('history-mismatch');
    this.execute(ctx, { seq: m.seq, view: m.view, history: m.history, digest: m.digest, batch: m.batch, order: m, undo: [] });
  }

  /** Executes what waited for a hole now filled. */
  drain(ctx: Ctx<ZyzzyvaMsg>): void {
    const r = this.r;
    for (const seq of this.early.keys()) if (seq <= r.history.top || this.early.get(seq)!.view !== r.view) this.early.delete(seq);
    if (!r.active) return;
    for (let m = this.early.get(r.history.top + 1); m; m = this.early.get(r.history.top + 1)) {
      this.early.delete(m.seq);
      const top = r.history.top;
      this.accept(ctx, m);
      if (r.history.top === top) break;
    }
  }

  /** Executes a batch speculatively, answering each request's client (SPEC-RESPONSE). */
  execute(ctx: Ctx<ZyzzyvaMsg>, e: Entry): void {
    const r = this.r;
    const order = e.order ?? { view: r.view, seq: e.seq, history: e.history, digest: e.digest, sig: new Uint8Array() };
    for (const payload of e.batch) {
      // A faulty primary's batch may hold anything: every correct replica skips the same requests.
      const q = this.open(payload);
      if (!q) continue;
      const { result, undo } = r.store.execute(q);
      e.undo.push(undo);
      if (result === null) continue;
      const bytes = encodeResult(result);
      const response = signResponse({
        view: r.view, seq: e.seq, history: e.history, resultDigest: sha256(bytes), client: q.client, requestId: q.requestId, replica: r.me, sig: new Uint8Array(),
      }, r.p.keys);
      const msg: SpecResponse = { type: 'spec-response', response, result: bytes, order: { view: order.view, seq: order.seq, history: order.history, digest: order.digest, sig: order.sig } };
      this.responses.set(q.client, msg);
      ctx.send(r.p.clientNode(q.client), msg);
    }
    r.history.append(e);
    r.obs.executed(e.batch.length);
    if (e.seq % CP_INTERVAL === 0) r.checkpoint.take(ctx);
    if (e.seq === r.checkpoint.stable.seq) r.checkpoint.reached();
    r.viewChange.releaseAnswered(ctx);
  }

  /** Forgets the responses of batches rolled back or replaced. */
  forgetAbove(seq: number): void {
    for (const [c, m] of this.responses) if (m.response.seq > seq) this.responses.delete(c);
  }

  /** Forgets the ORDER-REQs waiting at or below `seq` (all of them with no argument: the view changes). */
  dropEarly(seq = Infinity): void {
    for (const s of this.early.keys()) if (s <= seq) this.early.delete(s);
  }

  /** The cached response for a client's request, if this replica executed it in the history it holds. */
  responseOf(client: number, requestId: number): SpecResponse | undefined {
    const m = this.responses.get(client);
    return m && m.response.requestId === requestId ? m : undefined;
  }

  /** Asks the primary for the ORDER-REQs between the top of the history and `to`. */
  fillHole(ctx: Ctx<ZyzzyvaMsg>, to: number): void {
    const r = this.r;
    // Asked once per top of the history: the answer fills the hole or the next tick asks everyone.
    if (to <= r.history.top || r.primary || this.asked?.top === r.history.top) return;
    const m: FillHole = { type: 'fill-hole', view: r.view, from: r.history.top + 1, to, replica: r.me };
    ctx.send(r.p.replicas[r.primaryOf(r.view)]!, m);
    this.asked = { top: r.history.top, to };
  }

  /** FILL-HOLE: the signed ORDER-REQs of the current view held in the range go to the asker. */
  onFillHole(ctx: Ctx<ZyzzyvaMsg>, m: FillHole): void {
    const r = this.r;
    if (m.view !== r.view || !r.active) return;
    const to = r.p.replicas[m.replica];
    if (to === undefined || m.replica === r.me) return r.obs.invalid('unknown-replica');
    this.sendOrdered(ctx, to, m.from, m.to);
  }

  /**
   * The ORDER-REQs of the current view held in [from, upTo]. The primary signs again, in its view,
   * a batch it holds from an earlier view (a replica accepts ORDER-REQs of its own view only).
   */
  private sendOrdered(ctx: Ctx<ZyzzyvaMsg>, to: number, from: number, upTo: number): void {
    const r = this.r;
    const last = Math.min(upTo, r.history.top, from + FILL_MAX - 1);
    for (let s = Math.max(from, r.history.base.seq + 1); s <= last; s++) {
      const e = r.history.get(s)!;
      if (r.primary && e.order?.view !== r.view) e.order = this.order(e);
      if (e.order?.view === r.view) ctx.send(to, e.order);
    }
  }

  /** The primary's ORDER-REQ for a batch of the history, in its view. */
  order(e: { seq: number; history: Uint8Array; batch: Uint8Array[] }): OrderReq {
    const r = this.r;
    return signOrder<OrderReq>({ type: 'order-req', view: r.view, seq: e.seq, history: e.history, digest: batchDigest(e.batch), sig: new Uint8Array(), batch: e.batch }, r.p.keys);
  }

  /** CONFIRM-REQ (the primary): a request ordered already brings the asker the ORDER-REQs past its top; another is ordered. */
  onConfirmReq(ctx: Ctx<ZyzzyvaMsg>, m: ConfirmReq): void {
    const r = this.r;
    if (m.view !== r.view || !r.primary || !r.active) return;
    const q = this.open(m.payload);
    const to = r.p.replicas[m.replica];
    if (!q || to === undefined) return;
    if (r.store.answered(q.client, q.requestId)) return this.sendOrdered(ctx, to, m.have + 1, r.history.top);
    this.enqueue(ctx, m.payload);
  }

  /**
   * The retry period. The primary, idle for a period after ordering, sends its last ORDER-REQ
   * again, once: a backup that lost the last ones has no later one to show it the hole. A hole
   * still open after a period is asked of every replica.
   */
  tick(ctx: Ctx<ZyzzyvaMsg>): void {
    const r = this.r;
    if (r.primary) {
      const last = r.history.get(r.history.top)?.order;
      if (last && last.view === r.view && r.history.top > this.announced && ctx.now - this.lastFlush >= r.p.retryUs) {
        this.announced = r.history.top;
        ctx.multicast(r.others(), last);
      }
      return;
    }
    const asked = this.asked;
    this.asked = null;
    if (asked?.top === r.history.top) {
      ctx.multicast(r.others(), { type: 'fill-hole', view: r.view, from: r.history.top + 1, to: asked.to, replica: r.me });
      return;
    }
    // Relayed requests not executed: others may hold ORDER-REQs we never saw (one lost to us,
    // and nothing later to show the hole), so we ask for what follows our top.
    const wanted = Math.max(Math.max(0, ...this.early.keys()) - 1, r.viewChange.watching ? r.history.top + FILL_MAX : 0);
    this.fillHole(ctx, wanted);
  }

  /** The requests queued for the next batch, taken out (a view change). */
  takeQueue(): Uint8Array[] {
    return this.queue.splice(0);
  }
}
