import { sha256 } from '../crypto/hash.js';
import type { MacVectorKeys } from '../crypto/macvector.js';
import type { SignatureBackend } from '../crypto/signature.js';
import type { Core, Ctx, NodeId } from '../runtime/core.js';
import { AUTH_BYTES, type AomAuth, type AomHeader, authBytes } from './aom-messages.js';
import { CHAIN_START, chainLink } from './chain.js';
import type { NeoMsg } from './messages.js';
import { SigningController } from './sign-controller.js';

export type AomScheme =
  | { scheme: 'hm'; keys: MacVectorKeys }
  | { scheme: 'pk'; secret: Uint8Array; backend: SignatureBackend; controller: SigningController; idleSignUs: number };

export interface AomSequencerParams {
  group: number;
  epoch: number;
  /** Receivers in key order: receiver i holds HM key i. */
  receivers: NodeId[];
  auth: AomScheme;
}

export interface AomSequencerObserver {
  authenticated(scheme: 'hm' | 'pk', signed: boolean): void;
}

/**
 * The switch role of AOM: a counter per group, the sender's payload bound by its digest, an
 * authenticator over (group, epoch, sequence, digest), multicast to every receiver.
 */
export class AomSequencer implements Core<NeoMsg> {
  private seq = 0;
  private chain: Uint8Array = CHAIN_START;
  private lastSigned = 0;
  private readonly auth = new Uint8Array(AUTH_BYTES);

  constructor(private readonly p: AomSequencerParams, private readonly obs: AomSequencerObserver) {}

  start(): void {}

  receive(ctx: Ctx<NeoMsg>, m: NeoMsg): void {
    if (m.type !== 'aom-request' || m.group !== this.p.group) return;
    const header: AomHeader = { group: this.p.group, epoch: this.p.epoch, seq: ++this.seq, digest: sha256(m.payload) };
    let auth: AomAuth;
    const a = this.p.auth;
    if (a.scheme === 'hm') {
      auth = { scheme: 'hm', macs: a.keys.sign(authBytes(header, this.auth)) };
      this.obs.authenticated('hm', true);
    } else {
      const linked = this.chain;
      this.chain = chainLink(linked, header);
      const sign = a.controller.shouldSign(ctx.now);
      auth = { scheme: 'pk', linked, signature: sign ? a.backend.sign(this.chain, a.secret) : null };
      if (sign) this.lastSigned = header.seq;
      else ctx.setTimer('idle-sign', a.idleSignUs);
      this.obs.authenticated('pk', sign);
    }
    ctx.multicast(this.p.receivers, { type: 'aom', header, auth, payload: m.payload });
  }

  timer(ctx: Ctx<NeoMsg>, name: string): void {
    const a = this.p.auth;
    if (name !== 'idle-sign' || a.scheme !== 'pk' || this.lastSigned === this.seq) return;
    // No signed message followed: sign the last link so receivers can verify what they hold.
    this.lastSigned = this.seq;
    ctx.multicast(this.p.receivers, {
      type: 'aom-sign', group: this.p.group, epoch: this.p.epoch, seq: this.seq, chain: this.chain,
      signature: a.backend.sign(this.chain, a.secret),
    });
    this.obs.authenticated('pk', true);
  }
}
