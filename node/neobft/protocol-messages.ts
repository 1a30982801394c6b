import type { AomSign, OrderedMulticast } from './aom-messages.js';

/**
 * NeoBFT's own messages (NeoBFT §5; docs/neobft.md#neobft-messages). A view is ⟨epoch, leader⟩, ordered by epoch
 * then leader number; the leader is replica `leader mod n`. Replies to a client
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

/**
 * Every SYNC_INTERVAL slots, and at the first slot of an epoch (EPOCH-START): the replica's log
 * hash there and the digest of its state there (PBFT's checkpoint digest), with the slot its
 * epoch started after; 2f+1 matching make the prefix final (and, at an epoch start, form the
 * epoch certificate), and let any one replica's copy of that state be checked.
 */
export interface Sync {
  type: 'sync';
  view: View;
  replica: number;
  slot: number;
  logHash: Uint8Array;
  stateDigest: Uint8Array;
  epochStart: number;
  /**
   * Sent again by a replica still waiting for this point to become final: a replica that has it
   * final answers with its own SYNC (never answering an answer, which would ping-pong forever).
   * Not signed: it only asks for an answer, which a forger could get by resending any SYNC anyway.
   */
  resent: boolean;
  sig: Uint8Array;
}

/** A replica left behind the others' final point (what it lacks is compacted there) asks for the state. */
export interface StateRequest {
  type: 'state-request';
  replica: number;
  /** The last slot it executed: only a later final point helps. */
  executed: number;
}

/** The sender's state at its sync point, proven by its SYNC certificate (which names the state's digest). */
export interface StateReply {
  type: 'state-reply';
  replica: number;
  cert: Sync[];
  snapshot: Uint8Array;
}

/**
 * A replica that started with empty state (a restarted process) asks every other where the
 * cluster is before it takes part (Viewstamped Replication Revisited's RECOVERY: the nonce makes
 * an old answer useless).
 */
export interface Recovery {
  type: 'recovery';
  replica: number;
  nonce: number;
}

/** The answer: the sender's view, the last slot it executed, its sync point's certificate; signed, with the nonce. */
export interface RecoveryReply {
  type: 'recovery-reply';
  view: View;
  replica: number;
  nonce: number;
  executed: number;
  cert: Sync[];
  sig: Uint8Array;
}

/**
 * A log entry as a VIEW-CHANGE carries it. Entries at or below the sender's sync point are
 * proven by the hash chain up to its SYNC certificate; above it each carries its own proof: the
 * ordering certificate (plus 2f+1 CONFIRMs in Byzantine-network mode), or the gap certificate
 * (2f+1 GAP-COMMITs) of a no-op.
 */
export type LogEntry =
  | { kind: 'message'; slot: number; oc: OrderedMulticast; confirms: Confirm[] }
  | { kind: 'no-op'; slot: number; commits: GapVote[] };

/** ⟨VIEW-CHANGE, v', cert, log⟩σi: sent to every replica when i gives up on its view. */
export interface ViewChange {
  type: 'view-change';
  /** The view being moved to. */
  view: View;
  replica: number;
  /** 2f+1 matching SYNCs at the sender's sync point (none: the start of epoch 1). */
  cert: Sync[];
  /** The log hash just before the first entry. */
  base: Uint8Array;
  entries: LogEntry[];
  /** PK: the sequencer's signature over the chain after the last entry, when that entry is unsigned. */
  tailSign: AomSign | null;
  sig: Uint8Array;
}

/** ⟨VIEW-START, v', the 2f+1 VIEW-CHANGEs by sender and digest⟩σl: every replica merges the same logs. */
export interface ViewStart {
  type: 'view-start';
  view: View;
  replica: number;
  refs: { replica: number; digest: Uint8Array }[];
  sig: Uint8Array;
}

/** A replica holding a VIEW-START but missing one of its VIEW-CHANGEs asks the new leader for it. */
export interface ViewChangeFetch {
  type: 'view-change-fetch';
  view: View;
  replica: number;
  of: number;
}

/** A client's request sent straight to the replicas after a timeout (as well as again through AOM). */
export interface DirectRequest {
  type: 'direct-request';
  payload: Uint8Array;
}

export type ProtocolMsg = Reply | Query | QueryReply | GapFind | GapRecv | GapDrop | GapDecision | GapVote | Confirm | Sync | DirectRequest
  | ViewChange | ViewStart | ViewChangeFetch | StateRequest | StateReply | Recovery | RecoveryReply;
export type SignedMsg = GapFind | GapDrop | GapDecision | GapVote | Confirm | Sync | ViewChange | ViewStart | RecoveryReply;

export const NOOP_DIGEST = new Uint8Array(32);
