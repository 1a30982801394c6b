import type { OrderedMulticast } from './aom-messages.js';

/**
 * NeoBFT's own messages (seed-systems.md §3.4). A view is ⟨epoch, leader⟩. Replies to a client
 * carry an HMAC-SHA256 under the key that replica shares with that client (no third party ever
 * needs to check a reply); messages that become parts of certificates (gap agreement) carry a
 * secp256k1 signature by their replica over the SHA-256 of their encoding, signature excluded.
 */
export interface View {
  epoch: number;
  leader: number;
}

export interface Reply {
  type: 'reply';
  view: View;
  replica: number;
  slot: number;
  logHash: Uint8Array;
  client: number;
  requestId: number;
  result: Uint8Array;
  mac: Uint8Array;
}

/** A non-leader missing a slot asks the leader for its ordering certificate. */
export interface Query {
  type: 'query';
  view: View;
  replica: number;
  slot: number;
}

export interface QueryReply {
  type: 'query-reply';
  view: View;
  slot: number;
  oc: OrderedMulticast;
}

export interface GapFind {
  type: 'gap-find';
  view: View;
  replica: number;
  slot: number;
  sig: Uint8Array;
}

export interface GapRecv {
  type: 'gap-recv';
  view: View;
  replica: number;
  slot: number;
  oc: OrderedMulticast;
}

export interface GapDrop {
  type: 'gap-drop';
  view: View;
  replica: number;
  slot: number;
  sig: Uint8Array;
}

/** The leader's decision: the certificate it found, or 2f+1 signed drops. */
export interface GapDecision {
  type: 'gap-decision';
  view: View;
  replica: number;
  slot: number;
  recv: OrderedMulticast | null;
  drops: GapDrop[];
  sig: Uint8Array;
}

/** Prepare and commit name the outcome by the digest of the message kept (32 zero bytes for a no-op). */
export interface GapVote {
  type: 'gap-prepare' | 'gap-commit';
  view: View;
  replica: number;
  slot: number;
  digest: Uint8Array;
  sig: Uint8Array;
}

/** Byzantine-network mode: replica `replica` saw `digest` at `slot`; 2f+1 matching confirms order it. */
export interface Confirm {
  type: 'confirm';
  view: View;
  replica: number;
  slot: number;
  digest: Uint8Array;
  /** Set on a retransmission: the sender has not settled the slot and asks for others' confirms. */
  need: boolean;
  sig: Uint8Array;
}

/** Every SYNC_INTERVAL slots: the replica's log hash there; 2f+1 matching make the prefix final. */
export interface Sync {
  type: 'sync';
  view: View;
  replica: number;
  slot: number;
  logHash: Uint8Array;
  sig: Uint8Array;
}

/** A client's request sent straight to the replicas after a timeout (as well as again through AOM). */
export interface DirectRequest {
  type: 'direct-request';
  payload: Uint8Array;
}

export type ProtocolMsg = Reply | Query | QueryReply | GapFind | GapRecv | GapDrop | GapDecision | GapVote | Confirm | Sync | DirectRequest;
export type SignedMsg = GapFind | GapDrop | GapDecision | GapVote | Confirm | Sync;

export const NOOP_DIGEST = new Uint8Array(32);
