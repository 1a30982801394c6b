import type { BftReplicaParams } from '../protocol/bft-params.js';
import type { ZyzzyvaKeys } from './auth.js';

/**
 * The common BFT replica parameters (index, f, replicas, pairKeys, clientKey, clientNode, clients,
 * maxBatch, batchDelayUs, retryUs, viewChangeUs — the time a replica waits for a relayed request to
 * be ordered before it hates the primary) and the signing keys. `pairKeys` is unused: every
 * replica-to-replica message is signed (docs/zyzzyva.md#members-and-keys).
 */
export interface ZyzzyvaReplicaParams extends BftReplicaParams {
  /** For ORDER-REQ, SPEC-RESPONSE, CHECKPOINT, I-HATE-THE-PRIMARY, VIEW-CHANGE, NEW-VIEW and VIEW-CONFIRM. */
  keys: ZyzzyvaKeys;
}

/** Why a replica moved to a later view (`switchyard_zyzzyva_view_changes_total{reason}`). */
export type ZyzzyvaViewChangeReason = 'i-hate-the-primary' | 'proof-of-misbehaviour' | 'new-view-timeout' | 'joined';

export interface ZyzzyvaObserver {
  /** Requests executed speculatively. */
  executed(requests: number): void;
  batched(size: number): void;
  invalid(reason: string): void;
  /** This replica committed to a view change to `view` and sent its VIEW-CHANGE (or joined a running view). */
  viewChanged(view: number, reason: ZyzzyvaViewChangeReason): void;
  viewStarted(view: number): void;
  /** The highest commit certificate or stable checkpoint held moved to `seq`. */
  committed(seq: number): void;
  /** Speculatively executed requests undone by a view change. */
  rolledBack(requests: number): void;
  stateTransferred(seq: number): void;
}
