import type { StateReplyOf, StateRequest } from '../protocol/bft-params.js';

/**
 * Zyzzyva (Kotla, Alvisi, Dahlin, Clement and Wong, SOSP'07; TOCS 2009) as a baseline of a
 * BFTCluster: the primary orders requests (ORDER-REQ) and replicas execute them speculatively at
 * once, answering the client directly (SPEC-RESPONSE); the client completes on 3f+1 matching
 * responses, or commits 2f+1 of them (COMMIT with a commit certificate, answered by LOCAL-COMMIT).
 * The protocol as implemented is docs/zyzzyva.md. Messages that others must be able to show are
 * signed (secp256k1); LOCAL-COMMIT, read by its client only, carries an HMAC under the client's key.
 */
export interface ZyzzyvaRequest {
  type: 'request';
  payload: Uint8Array;
}

/**
 * The signed part of an ORDER-REQ ⟨v, n, h_n, d⟩σp (§3.2; ND is omitted: the key-value store is
 * deterministic). `history` is h_n = H(h_{n−1}, d) over the batch digests of the whole history.
 * An empty `sig` marks a header no primary signed (an entry a NEW-VIEW carried over).
 */
export interface OrderHeader {
  view: number;
  seq: number;
  history: Uint8Array;
  digest: Uint8Array;
  sig: Uint8Array;
}

/** ORDER-REQ with its batch of requests (the batch digest `digest` covers them). */
export interface OrderReq extends OrderHeader {
  type: 'order-req';
  batch: Uint8Array[];
}

/** The signed part of a SPEC-RESPONSE ⟨v, n, h_n, H(r), c, t⟩σi: what a commit certificate is made of. */
export interface SignedResponse {
  view: number;
  seq: number;
  history: Uint8Array;
  resultDigest: Uint8Array;
  client: number;
  requestId: number;
  replica: number;
  sig: Uint8Array;
}

/** SPEC-RESPONSE: the signed response, the result r, and the ORDER-REQ it executed (for a proof of misbehaviour). */
export interface SpecResponse {
  type: 'spec-response';
  response: SignedResponse;
  result: Uint8Array;
  order: OrderHeader;
}

/** COMMIT ⟨c, CC⟩: 2f+1 matching signed responses (§3.3). */
export interface Commit {
  type: 'commit';
  client: number;
  requestId: number;
  cc: SignedResponse[];
}

/** LOCAL-COMMIT: the replica holds the commit certificate's history; carries the result (docs/zyzzyva.md), MACed for the client. */
export interface LocalCommit {
  type: 'local-commit';
  view: number;
  seq: number;
  history: Uint8Array;
  client: number;
  requestId: number;
  replica: number;
  result: Uint8Array;
  mac: Uint8Array;
}

/** A backup relays a request it has not seen ordered (CONFIRM-REQ, §3.4); `have` is the top of its history. */
export interface ConfirmReq {
  type: 'confirm-req';
  view: number;
  replica: number;
  have: number;
  payload: Uint8Array;
}

/** FILL-HOLE ⟨v, max_n + 1, n, i⟩ (§3.2): the ORDER-REQs from `from` to `to` are wanted. */
export interface FillHole {
  type: 'fill-hole';
  view: number;
  from: number;
  to: number;
  replica: number;
}

/** I-HATE-THE-PRIMARY ⟨v⟩σi (§3.5). */
export interface IHateThePrimary {
  type: 'i-hate-the-primary';
  view: number;
  replica: number;
  sig: Uint8Array;
}

/** POM: two ORDER-REQs of one view's primary for one sequence number with different histories (§3.4). */
export interface Pom {
  type: 'pom';
  a: OrderHeader;
  b: OrderHeader;
}

/** CHECKPOINT ⟨n, h_n, state digest⟩σi, with the signer's view (a restarted replica learns the view from them). */
export interface Checkpoint {
  type: 'checkpoint';
  seq: number;
  view: number;
  history: Uint8Array;
  digest: Uint8Array;
  replica: number;
  sig: Uint8Array;
}

/** An ordered batch as a VIEW-CHANGE reports it (the O of §3.5). */
export interface OrderedEntry {
  seq: number;
  view: number;
  history: Uint8Array;
  batch: Uint8Array[];
}

/** VIEW-CHANGE ⟨v+1, CC, checkpoint proof, O⟩σi. */
export interface ViewChange {
  type: 'view-change';
  view: number;
  replica: number;
  checkpoint: Checkpoint[];
  cc: SignedResponse[];
  ordered: OrderedEntry[];
  sig: Uint8Array;
}

/** NEW-VIEW ⟨v+1, P⟩σp: the 2f+1 VIEW-CHANGEs themselves; every replica derives the history from them (new-view.ts). */
export interface NewView {
  type: 'new-view';
  view: number;
  replica: number;
  changes: ViewChange[];
  sig: Uint8Array;
}

/** VIEW-CONFIRM ⟨v+1, n, h⟩σi: the history this replica took from the NEW-VIEW. */
export interface ViewConfirm {
  type: 'view-confirm';
  view: number;
  seq: number;
  history: Uint8Array;
  replica: number;
  sig: Uint8Array;
}

/** The state at a stable checkpoint with the 2f+1 CHECKPOINTs vouching for it. */
export type StateReply = StateReplyOf<Checkpoint>;
export type { StateRequest };

export type ZyzzyvaMsg = ZyzzyvaRequest | OrderReq | SpecResponse | Commit | LocalCommit | ConfirmReq | FillHole | IHateThePrimary | Pom
  | Checkpoint | ViewChange | NewView | ViewConfirm | StateRequest | StateReply;

/** The history before the first request: h_0. */
export const EMPTY_HISTORY = new Uint8Array(32);
