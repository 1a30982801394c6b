import type { BftReplicaParams } from '../protocol/bft-params.js';
import type { PbftSigningKeys } from './auth.js';

export interface PbftReplicaParams extends BftReplicaParams {
  /** For CHECKPOINT, VIEW-CHANGE and NEW-VIEW, which are signed. */
  keys: PbftSigningKeys;
}

/** Why a replica moved to a later view (`switchyard_pbft_view_changes_total{reason}`). */
export type PbftViewChangeReason = 'request-timeout' | 'new-view-timeout' | 'joined' | 'restarted-primary';

export interface PbftObserver {
  executed(requests: number): void;
  batched(size: number): void;
  invalid(reason: string): void;
  /** This replica moved to `view` and sent its VIEW-CHANGE. */
  viewChanged(view: number, reason: PbftViewChangeReason): void;
  viewStarted(view: number): void;
  checkpointStable(seq: number): void;
  stateTransferred(seq: number): void;
}
