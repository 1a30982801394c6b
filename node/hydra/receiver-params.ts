import type { NodeId } from '../runtime/core.js';
import type { Groupcast } from './messages.js';
import type { HydraTopology } from './topology.js';

export interface ReceiverParams {
  /** This receiver's member id. */
  id: NodeId;
  group: number;
  topology: HydraTopology;
  /** `immediate`: ask a lagging sequencer for a flush as soon as a message waits on it; `batched`: once per interval. */
  solicit: 'immediate' | 'batched';
  /** Batch period, and the retry period of an unanswered immediate solicitation. */
  solicitIntervalUs: number;
  /** Silence from an active sequencer longer than this makes us suspect it. */
  failureTimeoutUs: number;
  /** Whether sequencers flush on their own; without, silence is suspicious only while we wait on it. */
  periodicFlushes: boolean;
  /** How long a known gap waits for a reordered message before it is declared lost. */
  gapWaitUs: number;
}

/** `epoch` is the configuration the sequencer's incarnation joined in: (sequencer, epoch, seq) names a slot. */
export type Delivery =
  | { kind: 'message'; msg: Groupcast; epoch: number; seq: number; arrivedAt: number }
  | { kind: 'drop'; sequencer: number; epoch: number; seq: number };

export type ReceiverRejection =
  | 'unknown-sequencer'
  | 'stale-incarnation'
  | 'removed-sequencer'
  | 'not-addressed'
  | 'duplicate'
  | 'late'
  | 'beyond-final'
  | 'beyond-window';

export interface ReceiverObserver {
  delivered(d: Delivery, now: number): void;
  rejected(reason: ReceiverRejection): void;
  solicited(sequencer: number): void;
  suspected(sequencer: number): void;
  configured(config: number): void;
  pending(count: number): void;
}
