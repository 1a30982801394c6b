import type { NodeId } from '../runtime/core.js';
import type { ZyzzyvaKeys } from './auth.js';

export interface ZyzzyvaReplicaParams {
  index: number;
  f: number;
  replicas: NodeId[];
  /** For ORDER-REQ, SPEC-RESPONSE, CHECKPOINT, I-HATE-THE-PRIMARY, VIEW-CHANGE, NEW-VIEW and VIEW-CONFIRM, which are signed. */
  keys: ZyzzyvaKeys;
  /** pairKeys[j]: the key shared with replica j (unused: every replica-to-replica message is signed; kept for the wiring's shape, as PBFT's). */
  pairKeys: Uint8Array[];
  /** The key shared with a client (LOCAL-COMMIT's MAC). */
  clientKey(client: number): Uint8Array;
  clientNode(client: number): NodeId;
  /** Clients of the testbed (ids 0 … clients − 1): a request in any other client's name is refused. */
  clients: number;
  maxBatch: number;
  batchDelayUs: number;
  retryUs: number;
  /** How long a replica waits for a forwarded request to be ordered before it hates the primary (doubled per failed view change). */
  viewChangeUs: number;
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
