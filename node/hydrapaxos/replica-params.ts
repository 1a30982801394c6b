import type { ReceiverObserver, ReceiverParams } from '../hydra/receiver.js';
import type { StateMachineKind } from '../apps/state-machine.js';
import type { NodeId, WireReason } from '../runtime/core.js';

export interface HydraPaxosParams {
  /** This replica's member id; it is also the Hydra receiver of its group. */
  id: NodeId;
  group: number;
  /** The group's replicas (its Hydra receivers) by replica number; 2f+1 of them. */
  replicas: NodeId[];
  receiver: Omit<ReceiverParams, 'id' | 'group'>;
  /** The replicated application (a key-value store, or a shard of HydraTxn's transactional store). */
  app: StateMachineKind;
  /**
   * HydraTxn: the replicas of every group (shard), by group. Messages may go to several shards,
   * so a slot no replica of this shard has is resolved with the other shards (cross-shard.ts)
   * before it becomes a NO-OP. Null for HydraPaxos, whose groups are independent.
   */
  shards: NodeId[][] | null;
  /** The leader's SYNC period, which is also its heartbeat. */
  syncIntervalUs: number;
  /** Silence from the leader (or a view change not finishing) for this long starts the next view. */
  viewChangeUs: number;
  /** Resend period of gap requests, gap commits and view changes. */
  gapRetryUs: number;
  /** How long the leader looks for a dropped message before it fills the slot with a NO-OP. */
  gapCommitUs: number;
  stateRetryUs: number;
  /**
   * A deliberately broken variant, only for the checker's own test: a drop notification is
   * filled with a local NO-OP (no peers, no agreement) and every replica's reply carries its
   * result, so a client may commit on replies that do not include the leader's.
   */
  unsafeLocalNoops?: boolean;
}

export type ViewChangeReason = 'leader-silent' | 'view-change-timeout' | 'peer-request' | 'recovered-leader';

/** Why a replica refused a request, a reassembled message or a transferred state (`switchyard_hydrapaxos_rejected_total{reason}`). */
export type HydraPaxosRefusal = 'bad-request' | 'unknown-client' | `chunk-${WireReason}` | `state-${WireReason}`;

export interface HydraPaxosObserver {
  executed(): void;
  noopCommitted(): void;
  viewChanged(view: number, reason: ViewChangeReason): void;
  stateTransferred(): void;
  /** HydraTxn: a message lost by a whole shard was decided found (executed everywhere) or dropped (nowhere). */
  crossShardDecided(outcome: 'found' | 'dropped'): void;
  rejected(reason: HydraPaxosRefusal): void;
  hydra: ReceiverObserver;
}

/**
 * The properties a replica checks where they must hold (`invariant()`): the log stays in
 * Hydra's order, undoing never takes back more than was executed, the view only advances, a
 * NO-OP's slot is never also in the log, a prefix made stable holds every slot its point counts.
 * In a running member a broken one is counted by name
 * (`switchyard_hydrapaxos_invariant_violations_total{kind}`) and logged; in a simulation it throws.
 */
export const HYDRAPAXOS_INVARIANTS = ['log-order', 'executed-count', 'view-advances', 'noop-not-logged', 'stable-prefix-complete'] as const;
