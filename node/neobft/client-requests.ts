import { LRUCache } from 'lru-cache';
import { type KvRequest, decodeKvRequest, fromKnownClient } from '../apps/kv.js';
import { equalBytes } from '../crypto/bytes.js';
import type { Ctx } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import type { OrderedMulticast } from './aom-messages.js';
import { replyMac } from './auth.js';
import type { NeoMsg } from './messages.js';
import type { Reply } from './protocol-messages.js';
import type { Replica } from './replica.js';
import { MAX_HELD, type NeoBftRefusal } from './replica-params.js';

/**
 * Clients' requests and the replies to them (docs/neobft.md#normal-case): each delivered payload
 * opened once, each client's latest reply kept for its retries, and the requests clients sent
 * directly that AOM has not delivered yet (a sign of a failed sequencer, or of a missing replica).
 */
export class Clients {
  /**
   * Requests clients sent directly that AOM has not delivered yet, by client/request id, with
   * when they arrived (in this view): kept across a view change, whose new leader passes them on.
   */
  readonly direct = new Map<string, { since: number; payload: Uint8Array; client: number; requestId: number }>();
  /** Per client, an answered request it kept asking for (directly), and since when. */
  private readonly unserved = new Map<number, { requestId: number; since: number }>();
  /** Each client's latest reply, sent again when the client retries an executed request. */
  private readonly lastReplies = new Map<number, Reply>();
  /**
   * Requests AOM delivered lately (a client retrying one of these has lost replies, not its
   * request); the oldest go first (a Set trimmed from its front cost ~10 µs per delivery: V8
   * skips the deleted entries on every walk to the first live one).
   */
  readonly recent = new LRUCache<string, true>({ max: MAX_HELD });
  /**
   * Each delivered payload opened once: a delivery is noted on arrival and again when it fills
   * its slot, and with signed requests opening costs a signature verification.
   */
  private readonly opened = new WeakMap<Uint8Array, { request: KvRequest | null; refusal: NeoBftRefusal | null }>();

  constructor(private readonly r: Replica) {}

  /**
   * The request a slot carries, or null: a Byzantine client's garbage, a request forged in a
   * client's name or made in the name of a client the testbed does not have still takes its
   * slot, as a no-op at every correct replica alike (`count`: on first delivery, the refusal is
   * counted by reason).
   */
  openRequest(payload: Uint8Array, count = false): KvRequest | null {
    const p = this.r.p;
    let opened = this.opened.get(payload);
    if (!opened) {
      try {
        opened = { request: fromKnownClient(p.openRequest ? p.openRequest(payload) : decodeKvRequest(payload), p.clients), refusal: null };
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        opened = { request: null, refusal: err.reason === 'bad-client-signature' || err.reason === 'unknown-client' ? err.reason : 'malformed-request' };
      }
      this.opened.set(payload, opened);
    }
    if (count && opened.refusal) this.r.obs.invalid(opened.refusal);
    return opened.request;
  }

  /** A request AOM delivered is no longer a sign of a failed sequencer. */
  noteDelivered(oc: OrderedMulticast): void {
    const req = this.openRequest(oc.payload);
    if (!req) return;
    const key = `${req.client}/${req.requestId}`;
    if (this.direct.delete(key)) this.r.resends.forget(`direct/${key}`);
    this.recent.set(key, true);
  }

  reply(ctx: Ctx<NeoMsg>, slot: number, request: KvRequest, result: Uint8Array): void {
    const r = this.r;
    const reply: Reply = {
      type: 'reply', view: r.view, replica: r.p.index, slot, logHash: r.log.hashes[slot]!, client: request.client,
      requestId: request.requestId, result, mac: new Uint8Array(32),
    };
    reply.mac = replyMac(reply, r.p.clientKey(request.client));
    this.lastReplies.set(request.client, reply);
    ctx.send(r.p.clientNode(request.client), reply);
  }

  /**
   * A reply sent again, in the view we are in now: the client needs 2f+1 replies of one view,
   * and replicas that executed the slot on either side of a view change replied in different
   * ones. Our log still holds the slot with that hash (a rollback would have re-executed it and
   * replaced the reply; a compacted hash is final), so it stands in this view too.
   */
  private restamp(last: Reply): Reply {
    const r = this.r;
    if (r.status !== 'normal' || r.sameView(last.view) || last.slot > r.log.executed) return last;
    const hash = r.log.hashes[last.slot];
    if (hash && !equalBytes(hash, last.logHash)) return last;
    const reply: Reply = { ...last, view: r.view, mac: new Uint8Array(32) };
    reply.mac = replyMac(reply, r.p.clientKey(reply.client));
    this.lastReplies.set(reply.client, reply);
    return reply;
  }

  /** A request a client sent directly: the leader passes it to the sequencer; everyone waits for AOM to deliver it. */
  onDirect(ctx: Ctx<NeoMsg>, payload: Uint8Array): void {
    const r = this.r;
    const req = this.openRequest(payload, true);
    if (!req) return;
    if (r.log.store.answered(req.client, req.requestId)) {
      // Executed, and the client still asks: our reply was lost (or came from an old view).
      const last = this.lastReplies.get(req.client);
      if (last?.requestId === req.requestId) ctx.send(r.p.clientNode(req.client), this.restamp(last));
      this.noteUnserved(ctx, req.client, req.requestId);
      return;
    }
    // (A request ordered but dropped by an epoch change, or made a no-op by gap agreement, needs this too.)
    if (r.isLeader && r.status === 'normal') this.passOn(ctx, payload);
    const key = `${req.client}/${req.requestId}`;
    if (!this.recent.has(key) && !this.direct.has(key) && this.direct.size < MAX_HELD) this.direct.set(key, { since: ctx.now, payload, client: req.client, requestId: req.requestId });
  }

  /** The leader hands a request clients sent directly to the view's sequencer. */
  private passOn(ctx: Ctx<NeoMsg>, payload: Uint8Array): void {
    const r = this.r;
    ctx.send(r.p.sequencerNode(r.view.epoch), { type: 'aom-request', group: r.p.group, payload });
  }

  /**
   * A client still asking, a whole timeout later, for a request we answered has not found 2f+1
   * matching replies: a correct replica is missing from this view (late and alone in a view
   * change nobody else saw a reason for, say) while a Byzantine one answers wrongly. Only a new
   * view brings it back, as PBFT's clients' retransmissions start view changes.
   */
  private noteUnserved(ctx: Ctx<NeoMsg>, client: number, requestId: number): void {
    const r = this.r;
    // A mute replica sends no VIEW-CHANGE (viewChange.start): it would wait alone in the view change.
    if (r.status !== 'normal' || r.mute) return;
    const first = this.unserved.get(client);
    if (first?.requestId !== requestId) {
      this.unserved.set(client, { requestId, since: ctx.now });
      return;
    }
    if (ctx.now - first.since < r.viewChange.timeoutUs) return;
    this.unserved.clear();
    r.viewChange.start(ctx, { epoch: r.view.epoch, leader: r.view.leader + 1 }, 'leader');
  }

  /**
   * A new view: requests clients sent directly that are still unanswered get a whole timeout in
   * it, and its leader passes them on to the view's sequencer (the client may still be sending
   * to the old one, and may wait long before it retries).
   */
  renewDirect(ctx: Ctx<NeoMsg>): void {
    for (const [key, d] of this.direct) {
      if (this.r.log.store.answered(d.client, d.requestId)) {
        this.direct.delete(key);
        continue;
      }
      d.since = ctx.now;
      if (this.r.isLeader) this.passOn(ctx, d.payload);
    }
  }

  /** The new epoch's sequencer may not have been installed yet when the leader first passed them on. */
  resendDirect(ctx: Ctx<NeoMsg>): void {
    for (const [key, d] of this.direct) if (this.r.resends.due(`direct/${key}`, ctx.now)) this.passOn(ctx, d.payload);
  }

  /** A new view starts with no client found unserved. */
  newView(): void {
    this.unserved.clear();
  }
}
