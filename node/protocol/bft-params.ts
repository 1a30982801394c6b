import type { KvServiceParams } from '../apps/kv.js';
import type { NodeId } from '../runtime/core.js';

/** What the view-based BFT baselines' replicas (PBFT, Zyzzyva) are configured with alike; each adds its signing keys. */
export interface BftReplicaParams extends KvServiceParams {
  index: number;
  f: number;
  replicas: NodeId[];
  /** pairKeys[j]: the key this replica shares with replica j (MAC authenticators). */
  pairKeys: Uint8Array[];
  /** How long a backup waits for a request it relayed to be ordered before it suspects the primary (doubled per failed view change). */
  viewChangeUs: number;
}

/** A replica behind a stable checkpoint asks for the state at it. */
export interface StateRequest {
  type: 'state-request';
  seq: number;
  replica: number;
}

/** The state at a stable checkpoint, with the CHECKPOINTs (of type C) that vouch for its digest. */
export interface StateReplyOf<C> {
  type: 'state-reply';
  seq: number;
  replica: number;
  checkpoint: C[];
  snapshot: Uint8Array;
}
