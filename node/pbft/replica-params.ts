import type { KvServiceParams } from '../apps/kv.js';
import type { NodeId } from '../runtime/core.js';
import type { PbftSigningKeys } from './auth.js';

export interface PbftReplicaParams extends KvServiceParams {
  index: number;
  f: number;
  replicas: NodeId[];
  /** pairKeys[j]: the key this replica shares with replica j. */
  pairKeys: Uint8Array[];
  /** For CHECKPOINT, VIEW-CHANGE and NEW-VIEW, which are signed. */
  keys: PbftSigningKeys;
  /** How long a backup waits for a request it has seen to execute before it suspects the primary (doubled per failed view change). */
  viewChangeUs: number;
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
