import type { KvServiceParams } from '../apps/kv.js';
import type { NodeId } from '../runtime/core.js';
import type { SignatureBackend } from '../crypto/signature.js';

/**
 * A HotStuff replica's parameters, with the clients' and batching ones of KvServiceParams
 * (clientKey, clientNode, clients, maxBatch, batchDelayUs, retryUs). Here `batchDelayUs` is
 * how long a leader holding a QC but no request waits for one before it proposes an empty block
 * (only to drive commits); `retryUs` is the period of retransmission (votes, proposals,
 * NEW-VIEWs, fetches that made no progress).
 */
export interface HotStuffReplicaParams extends KvServiceParams {
  index: number;
  f: number;
  replicas: NodeId[];
  /** This replica's secp256k1 key and every replica's public key: proposals, votes, NEW-VIEWs and checkpoints are signed. */
  keys: { secret: Uint8Array; publicKeys: Uint8Array[]; backend: SignatureBackend };
  /** Base pacemaker timeout; doubled per consecutive view that ended by timeout, back to base on a commit. */
  viewTimeoutUs: number;
}

/**
 * Why a replica left its view other than by normal progress (`switchyard_hotstuff_view_changes_total{reason}`):
 * its view timer fired; f+1 replicas' NEW-VIEWs or a QC showed a later view; it took a state transfer.
 */
export type HotStuffViewChangeReason = 'timeout' | 'synchronized' | 'restarted';

export interface HotStuffObserver {
  executed(requests: number): void;
  /** Requests in a block this replica proposed. */
  batched(size: number): void;
  invalid(reason: string): void;
  /** Left its view for `view` other than by normal progress. */
  viewChanged(view: number, reason: HotStuffViewChangeReason): void;
  /** Entered `view`. */
  viewStarted(view: number): void;
  /** The highest committed block height. */
  committed(height: number): void;
  stateTransferred(height: number): void;
}
