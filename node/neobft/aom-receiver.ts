import { sha256 } from '../crypto/hash.js';
import { type HalfSipKey, halfSipHash32 } from '../crypto/halfsiphash.js';
import type { SignatureBackend } from '../crypto/signature.js';
import type { Ctx } from '../runtime/core.js';
import { type AomSign, type OrderedMulticast, authBytes } from './aom-messages.js';
import { equalBytes } from '../crypto/bytes.js';
import { chainLink } from './chain.js';

export type AomReceiverAuth =
  | { scheme: 'hm'; key: HalfSipKey }
  | { scheme: 'pk'; publicKey: Uint8Array; backend: SignatureBackend };

export interface AomReceiverParams {
  group: number;
  epoch: number;
  /** This receiver's index in the sequencer's MAC vector. */
  index: number;
  auth: AomReceiverAuth;
  /** How long a missing sequence number is waited for before it becomes a drop notification. */
  gapTimeoutUs: number;
  /** Messages held for ordering or verification beyond this are refused. */
  maxBuffered: number;
}

/** At most this many unsigned candidates are held for one sequence number. */
const MAX_CANDIDATES = 4;

export type AomDelivery = { kind: 'message'; msg: OrderedMulticast } | { kind: 'drop'; seq: number };

/** Why a message was refused; each is counted, none is ever delivered. */
export type AomRejection =
  | 'wrong-group'
  | 'wrong-epoch'
  | 'replayed'
  | 'duplicate'
  | 'equivocation'
  | 'corrupted'
  | 'bad-mac'
  | 'bad-signature'
  | 'chain-broken'
  | 'unverifiable'
  | 'buffer-full';

export interface AomReceiverObserver<M = unknown> {
  /** `ctx`: the input during which the delivery happened (its sends go through it). */
  delivered(d: AomDelivery, ctx: Ctx<M>): void;
  rejected(reason: AomRejection): void;
  verified(scheme: 'hm' | 'pk', ok: boolean): void;
}

/**
 * The receiver side of AOM: checks the digest and the authenticator, then delivers in sequence
 * order; a sequence number still missing after the gap timeout becomes a DROP-NOTIFICATION, so
 * every correct receiver delivers, for every number, the same message or a drop notification.
 * With PK, unsigned messages wait until a later signature authenticates the chain back to them.
 * Timer names it uses start with `aom-`.
 */
export class AomReceiver<M = unknown> {
  private next = 1;
  private readonly ready = new Map<number, OrderedMulticast>();
  /**
   * Unsigned PK messages awaiting a signature, per number. Several candidates may claim one
   * number (an attacker can front-run the sequencer's message); the chain decides which is real.
   */
  private readonly unverified = new Map<number, { msgs: OrderedMulticast[]; since: number }>();
  /** Authenticated chain values h(seq), learned from signatures and walked backwards. */
  private readonly links = new Map<number, Uint8Array>();
  private gapArmed = false;
  private waitingSince = -1;

  constructor(private p: AomReceiverParams, private readonly obs: AomReceiverObserver<M>) {}

  get nextSeq(): number {
    return this.next;
  }

  /** A new epoch (a new sequencer): numbering and the chain start afresh; old messages are refused. */
  setEpoch(ctx: Ctx<M>, epoch: number, auth: AomReceiverAuth): void {
    this.p = { ...this.p, epoch, auth };
    this.next = 1;
    this.ready.clear();
    this.unverified.clear();
    this.links.clear();
    this.gapArmed = false;
    ctx.cancelTimer('aom-gap');
  }

  /** The numbers up to `seq` were settled elsewhere (the replica took the state past them): stop waiting for them. */
  skipTo(ctx: Ctx<M>, seq: number): void {
    if (seq < this.next) return;
    for (const s of [...this.ready.keys()]) if (s <= seq) this.ready.delete(s);
    for (const s of [...this.unverified.keys()]) if (s <= seq) this.unverified.delete(s);
    this.next = seq + 1;
    this.waitingSince = ctx.now;
    this.deliver(ctx);
  }

  receive(ctx: Ctx<M>, m: OrderedMulticast | AomSign): void {
    if (m.type === 'aom-sign') this.onSign(m);
    else this.onMulticast(ctx, m);
    this.deliver(ctx);
  }

  /** Returns whether the timer was AOM's. */
  timer(ctx: Ctx<M>, name: string): boolean {
    if (name !== 'aom-gap') return false;
    this.gapArmed = false;
    // Unsigned messages no signature ever covered (forged, or cut off by loss) are let go.
    for (const [seq, u] of this.unverified) {
      if (ctx.now - u.since >= 10 * this.p.gapTimeoutUs) {
        this.unverified.delete(seq);
        for (let i = 0; i < u.msgs.length; i++) this.obs.rejected('unverifiable');
      }
    }
    // A number is declared dropped only on evidence that later ones exist: an authenticated
    // message or chain link past it (an unverified claim is no evidence).
    if (!this.ready.has(this.next) && this.authenticatedBeyond(this.next)) {
      const waiting = this.unverified.get(this.next);
      if (waiting && ctx.now - waiting.since < 4 * this.p.gapTimeoutUs) {
        this.arm(ctx); // its signature may still come
        return true;
      }
      if (waiting) {
        this.unverified.delete(this.next);
        for (let i = 0; i < waiting.msgs.length; i++) this.obs.rejected('unverifiable');
      }
      if (ctx.now - this.waitingSince >= this.p.gapTimeoutUs) {
        this.obs.delivered({ kind: 'drop', seq: this.next }, ctx);
        this.next++;
        this.waitingSince = ctx.now;
      }
    }
    this.deliver(ctx);
    return true;
  }

  private authenticatedBeyond(seq: number): boolean {
    for (const s of this.ready.keys()) if (s > seq) return true;
    for (const s of this.links.keys()) if (s > seq) return true;
    return false;
  }

  private pending(): number {
    return this.ready.size + this.unverified.size;
  }

  private onMulticast(ctx: Ctx<M>, m: OrderedMulticast): void {
    const h = m.header;
    if (h.group !== this.p.group) return this.obs.rejected('wrong-group');
    if (h.epoch !== this.p.epoch) return this.obs.rejected('wrong-epoch');
    if (h.seq < this.next) return this.obs.rejected('replayed');
    const held = this.ready.get(h.seq);
    if (held) return this.obs.rejected(equalBytes(held.header.digest, h.digest) ? 'duplicate' : 'equivocation');
    const candidates = this.unverified.get(h.seq)?.msgs ?? [];
    if (candidates.some((c) => equalBytes(c.header.digest, h.digest) && equalBytes((c.auth as { linked: Uint8Array }).linked, (m.auth as { linked?: Uint8Array }).linked ?? new Uint8Array()))) {
      return this.obs.rejected('duplicate');
    }
    if (this.pending() >= this.p.maxBuffered || h.seq >= this.next + this.p.maxBuffered) return this.obs.rejected('buffer-full');
    if (!equalBytes(sha256(m.payload), h.digest)) return this.obs.rejected('corrupted');
    const a = this.p.auth;
    if (a.scheme === 'hm') {
      if (m.auth.scheme !== 'hm') return this.obs.rejected('bad-mac');
      const ok = m.auth.macs.length > this.p.index && halfSipHash32(a.key.k0, a.key.k1, authBytes(h)) === m.auth.macs[this.p.index];
      this.obs.verified('hm', ok);
      if (!ok) return this.obs.rejected('bad-mac');
      this.ready.set(h.seq, m);
      return;
    }
    if (m.auth.scheme !== 'pk') return this.obs.rejected('bad-signature');
    if (m.auth.signature) {
      const link = chainLink(m.auth.linked, h);
      const ok = a.backend.verify(m.auth.signature, link, a.publicKey);
      this.obs.verified('pk', ok);
      if (!ok) return this.obs.rejected('bad-signature');
      this.ready.set(h.seq, m);
      this.learn(h.seq - 1, m.auth.linked);
      return;
    }
    if (candidates.length >= MAX_CANDIDATES) return this.obs.rejected('buffer-full');
    this.unverified.set(h.seq, { msgs: [...candidates, m], since: this.unverified.get(h.seq)?.since ?? ctx.now });
    const known = this.links.get(h.seq);
    if (known) this.learn(h.seq, known);
  }

  private onSign(s: AomSign): void {
    const a = this.p.auth;
    if (s.group !== this.p.group) return this.obs.rejected('wrong-group');
    if (s.epoch !== this.p.epoch) return this.obs.rejected('wrong-epoch');
    if (a.scheme !== 'pk' || s.seq < this.next) return;
    const ok = a.backend.verify(s.signature, s.chain, a.publicKey);
    this.obs.verified('pk', ok);
    if (!ok) return this.obs.rejected('bad-signature');
    this.learn(s.seq, s.chain);
  }

  /** h(seq) is authentic: verify the held unsigned message seq against it, then walk backwards. */
  private learn(seq: number, link: Uint8Array): void {
    while (seq >= this.next) {
      const held = this.unverified.get(seq);
      if (!held) {
        this.links.set(seq, link);
        return;
      }
      this.unverified.delete(seq);
      const m = held.msgs.find((c) => c.auth.scheme === 'pk' && equalBytes(chainLink(c.auth.linked, c.header), link));
      for (const c of held.msgs) if (c !== m) this.obs.rejected('chain-broken');
      if (!m || m.auth.scheme !== 'pk') {
        this.links.set(seq, link);
        return;
      }
      this.obs.verified('pk', true);
      this.ready.set(seq, m);
      link = m.auth.linked;
      seq--;
    }
  }

  private deliver(ctx: Ctx<M>): void {
    let progressed = false;
    for (let m = this.ready.get(this.next); m; m = this.ready.get(this.next)) {
      this.ready.delete(this.next);
      this.links.delete(this.next);
      // Unsigned claims on a number an authenticated message took are forgeries.
      for (const c of this.unverified.get(this.next)?.msgs ?? []) if (c !== m) this.obs.rejected('chain-broken');
      this.unverified.delete(this.next);
      this.obs.delivered({ kind: 'message', msg: m }, ctx);
      this.next++;
      progressed = true;
    }
    if (progressed || this.waitingSince < 0) this.waitingSince = ctx.now;
    for (const s of this.links.keys()) if (s < this.next) this.links.delete(s);
    if (this.pending() > 0) this.arm(ctx);
  }

  private arm(ctx: Ctx<M>): void {
    if (this.gapArmed) return;
    this.gapArmed = true;
    ctx.setTimer('aom-gap', this.p.gapTimeoutUs);
  }
}
