import type { MacReply } from '../apps/kv-client.js';
import type { StateReplyOf, StateRequest } from '../protocol/bft-params.js';

/**
 * PBFT (Castro & Liskov) as the baseline of a BFTCluster: the primary orders batches of client
 * requests with PRE-PREPARE; PREPARE and COMMIT rounds among the replicas make the order stick;
 * a replica executes a batch once 2f+1 replicas committed it, and the client takes f+1 matching
 * replies. Protocol messages carry MAC authenticators: one truncated HMAC-SHA256 per receiving
 * replica, under the key the sender shares with it (PBFT's own choice over signatures).
 */
export interface PbftRequest {
  type: 'request';
  payload: Uint8Array;
}

export interface PrePrepare {
  type: 'pre-prepare';
  view: number;
  seq: number;
  replica: number;
  batch: Uint8Array[];
  auth: Uint8Array;
}

export interface PhaseVote {
  type: 'prepare' | 'commit';
  view: number;
  seq: number;
  replica: number;
  digest: Uint8Array;
  /** Sent again by a replica still missing votes: a replica that has all of them answers with its COMMIT. */
  resent: boolean;
  auth: Uint8Array;
}

export type PbftReply = MacReply;

/**
 * A replica's signed statement that its state after executing batch `seq` has digest `digest`
 * (SHA-256 of the canonical key-value snapshot). 2f+1 matching ones make a stable checkpoint:
 * the log below it is dropped and a lagging replica takes the state instead.
 */
export interface Checkpoint {
  type: 'checkpoint';
  seq: number;
  replica: number;
  digest: Uint8Array;
  sig: Uint8Array;
}

/** In a VIEW-CHANGE: a batch digest the sender prepared (P) or pre-prepared (Q) at `seq`, and the view it did so in. */
export interface SlotClaim {
  seq: number;
  view: number;
  digest: Uint8Array;
}

/**
 * ⟨VIEW-CHANGE, v+1, stable checkpoint with its 2f+1 signed CHECKPOINTs, P, Q⟩σi. Signed, as in
 * Castro & Liskov's implementation (MACs everywhere else): the new primary and every backup
 * must be able to show one another what a replica claimed. The bodies of the batches in P travel
 * along (`batches`, checked against their digests), so the new primary never has to fetch one.
 */
export interface ViewChange {
  type: 'view-change';
  view: number;
  replica: number;
  /** Empty for the initial state (sequence 0). */
  checkpoint: Checkpoint[];
  prepared: SlotClaim[];
  prePrepared: SlotClaim[];
  batches: Uint8Array[][];
  sig: Uint8Array;
}

/**
 * ⟨NEW-VIEW, v, the VIEW-CHANGEs it rests on⟩σp, naming them by digest; every replica derives the
 * new view's pre-prepares from them by the same rule (`planNewView`), so none travel.
 */
export interface NewView {
  type: 'new-view';
  view: number;
  replica: number;
  changes: { replica: number; digest: Uint8Array }[];
  sig: Uint8Array;
}

/** A backup missing a VIEW-CHANGE that a NEW-VIEW names asks the new primary for it. */
export interface ViewChangeFetch {
  type: 'view-change-fetch';
  view: number;
  replica: number;
  wanted: number;
}

export type { StateRequest };
/** The state at a stable checkpoint, with the 2f+1 CHECKPOINTs that vouch for its digest. */
export type StateReply = StateReplyOf<Checkpoint>;

export type PbftSigned = Checkpoint | ViewChange | NewView;

export type PbftMsg = PbftRequest | PrePrepare | PhaseVote | PbftReply | PbftSigned | ViewChangeFetch | StateRequest | StateReply;

/** Bytes of one receiver's entry in a MAC authenticator. */
export const AUTH_ENTRY = 8;
