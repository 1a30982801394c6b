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
  auth: Uint8Array;
}

export interface PbftReply {
  type: 'reply';
  view: number;
  replica: number;
  client: number;
  requestId: number;
  result: Uint8Array;
  mac: Uint8Array;
}

export type PbftMsg = PbftRequest | PrePrepare | PhaseVote | PbftReply;

/** Bytes of one receiver's entry in a MAC authenticator. */
export const AUTH_ENTRY = 8;
