/**
 * What a replication protocol needs of its application: execute a client's request bytes
 * (exactly once per client and request id), undo an execution (speculative logs roll back),
 * and a snapshot for state transfer. HydraPaxos replicates a key-value store; HydraTxn a shard
 * of a transactional store.
 */
export interface Execution {
  client: number;
  requestId: number;
  /** The encoded result; null for a request superseded by a later one of its client (no reply). */
  result: Uint8Array | null;
  undo: unknown;
}

export interface StateMachine {
  /**
   * Throws a WireError for a malformed request or one in the name of a client the testbed does
   * not have (every replica logs the same bytes, so all reject it alike).
   */
  execute(request: Uint8Array): Execution;
  undo(undo: unknown): void;
  snapshot(): Uint8Array;
  /** The data (not the exactly-once table) in a canonical form, to compare replicas. */
  contents(): string;
}

export interface StateMachineKind {
  create(): StateMachine;
  /** Throws a WireError for a snapshot that does not decode. */
  restore(snapshot: Uint8Array): StateMachine;
}
