import type { KvRequest } from '../apps/kv.js';
import type { NodeId } from '../runtime/core.js';
import type { AomReceiverAuth, AomReceiverObserver } from './aom-receiver.js';
import type { ReplicaKeys } from './auth.js';
import type { View } from './protocol-messages.js';

/** Slots between SYNCs. */
export const SYNC_INTERVAL = 64;
/**
 * Slots past the sync point a replica fills; later deliveries wait. Bounds what a VIEW-CHANGE
 * carries (the interval before the sync point plus this window must fit one datagram).
 */
export const LOG_WINDOW = 96;
/** AOM deliveries held while a view change runs or a new epoch is not yet certified. */
export const MAX_HELD = 10_000;
/** Epochs a sequencer change looks ahead for one whose sequencer is not known to lie (at least spec.sequencers' maximum, 9). */
export const MAX_EPOCH_SKIP = 16;
/** Unsettled slots past the executed point a replica asks the others' CONFIRMs for at a time: execution waits on the first of them. */
export const PLEA_WINDOW = 8;

export interface ReplicaParams {
  index: number;
  f: number;
  /** Member ids of the replicas, by index. */
  replicas: NodeId[];
  group: number;
  /** The AOM authenticator of each epoch's sequencer (null past the last epoch with keys). */
  authFor(epoch: number): AomReceiverAuth | null;
  /** Where epoch e's sequencer is (the leader forwards requests clients sent directly). */
  sequencerNode(epoch: number): NodeId;
  keys: ReplicaKeys;
  /** The HMAC key this replica shares with a client, and where the client is. */
  clientKey(client: number): Uint8Array;
  clientNode(client: number): NodeId;
  /** Clients of the testbed (ids 0 … clients − 1): a request in any other client's name is refused. */
  clients: number;
  gapTimeoutUs: number;
  retryUs: number;
  /**
   * Suspicion timeout: a slot unresolved this long makes the replica give up on the leader
   * (view change to the next leader); a request clients sent directly that AOM has not
   * delivered this long makes it give up on the sequencer (view change into the next epoch).
   * A view change that does not complete in this time (doubled per attempt) moves on.
   */
  viewChangeUs: number;
  /**
   * Byzantine-network mode: the sequencer may lie (e.g. send different messages under one number
   * to different replicas), so a slot is filled only once 2f+1 replicas confirmed the same digest.
   */
  byzantineNetwork: boolean;
  /** Decodes a delivered request, refusing it with a WireError (e.g. `openSignedRequest`); plain decoding unless set. */
  openRequest?(payload: Uint8Array): KvRequest;
}

/** Why a replica refused a protocol message or a delivered request (`switchyard_neobft_invalid_total{reason}`). */
export type NeoBftRefusal =
  | 'bad-confirm' | 'bad-gap-decision' | 'bad-gap-drop' | 'bad-gap-find' | 'bad-gap-vote' | 'bad-state-certificate' | 'bad-sync'
  | 'bad-view-change' | 'bad-view-start' | 'certificate-for-another-slot' | 'forged-certificate' | 'gap-decision-contradicts-confirm'
  | 'malformed-request' | 'bad-client-signature' | 'unknown-client' | 'no-keys-for-next-epoch' | 'view-change-below-sync-point'
  | 'malformed-state' | 'state-digest-mismatch' | 'other-view' | 'bad-recovery-reply';

export type ViewChangeReason = 'leader' | 'sequencer' | 'timeout' | 'joined';

export interface ReplicaObserver extends Pick<AomReceiverObserver, 'rejected' | 'verified'> {
  executed(slot: number, noop: boolean): void;
  synced(slot: number): void;
  gapAgreement(slot: number, outcome: 'message' | 'no-op'): void;
  rolledBack(slots: number): void;
  invalid(reason: NeoBftRefusal): void;
  viewChanged(view: View, reason: ViewChangeReason): void;
  viewStarted(view: View): void;
  /** The replica was behind the others' compacted prefix and took their state at `slot`. */
  stateTransferred(slot: number): void;
}
