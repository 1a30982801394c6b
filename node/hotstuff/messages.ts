import type { MacReply } from '../apps/kv-client.js';

/**
 * Chained HotStuff (Yin, Malkhi, Reiter, Gueta, Abraham, PODC'19, §5 and Algorithm 3) as a
 * BFTCluster baseline: the leader of each view proposes a block extending the highest quorum
 * certificate it knows; replicas vote for it to the next view's leader, whose 2f+1 votes form
 * the QC its own proposal carries. A block is committed once it heads a three-chain of direct
 * parents (docs/hotstuff.md). Proposals, votes, NEW-VIEWs and checkpoints are signed (secp256k1);
 * replies carry an HMAC under the key the replica shares with the client.
 */

/** A vote in a QC: the replica and its signature over (view, block hash). */
export interface QcVote {
  replica: number;
  sig: Uint8Array;
}

/** A quorum certificate: 2f+1 distinct valid votes for block `hash` in `view` (a list of signatures, no threshold scheme). */
export interface Qc {
  view: number;
  hash: Uint8Array;
  votes: QcVote[];
}

/** The paper's node: a batch of client requests on top of its parent, carrying the QC of that parent (its `justify`). */
export interface Block {
  view: number;
  /** Blocks from genesis (height 0): the parent's height + 1. */
  height: number;
  parent: Uint8Array;
  justify: Qc;
  batch: Uint8Array[];
}

export interface HsRequest {
  type: 'request';
  payload: Uint8Array;
}

/** ⟨GENERIC, b⟩ from leader(b.view), signed over the block's hash. */
export interface Proposal {
  type: 'proposal';
  replica: number;
  block: Block;
  sig: Uint8Array;
}

/** A replica's vote for block `hash` of `view`, sent to the leader of view + 1. */
export interface Vote {
  type: 'vote';
  view: number;
  replica: number;
  hash: Uint8Array;
  sig: Uint8Array;
}

/** ⟨NEW-VIEW, view, highest QC⟩σ: the sender entered `view` other than by normal progress. */
export interface NewView {
  type: 'new-view';
  view: number;
  replica: number;
  qc: Qc;
  sig: Uint8Array;
}

/** REPLY: the result, with an HMAC under the key the replica shares with the client. */
export type HsReply = MacReply;

/** Asks for the block with this hash; `committed` (the asker's committed height) lets a replica that pruned it send its state instead. */
export interface BlockFetch {
  type: 'block-fetch';
  replica: number;
  hash: Uint8Array;
  committed: number;
}

/** A block, asked for by hash or sent to a replica that showed a lower QC. */
export interface BlockReply {
  type: 'block-reply';
  replica: number;
  block: Block;
}

/** A replica's signed statement that its key-value state after committed block `hash` at `height` has digest `digest`. */
export interface Checkpoint {
  type: 'checkpoint';
  height: number;
  /** The height of the last block with requests at or below `height` (what a replica taking the state has executed of requests). */
  batchHeight: number;
  replica: number;
  hash: Uint8Array;
  digest: Uint8Array;
  sig: Uint8Array;
}

/** A replica behind the others' stable checkpoint (or restarted with empty state) asks for the state; `committed` is its committed height. */
export interface StateRequest {
  type: 'state-request';
  committed: number;
  replica: number;
}

/** The state at a stable checkpoint: its block, the signed CHECKPOINTs vouching for it, the snapshot. */
export interface StateReply {
  type: 'state-reply';
  replica: number;
  block: Block;
  proof: Checkpoint[];
  snapshot: Uint8Array;
}

export type HotStuffMsg = HsRequest | Proposal | Vote | NewView | HsReply | BlockFetch | BlockReply | Checkpoint | StateRequest | StateReply;
