import type { NodeDocument } from '../../node/config.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A node document before it is materialized: where members listen and where keys live are the materializer's choice. */
export type PlannedDocument = DistributiveOmit<NodeDocument, 'addressing' | 'metrics' | 'keys'>;

/** One process (pod) of the testbed. */
export interface PlannedMember {
  /** Member name, e.g. `sequencer-2`; the pod is `<resource>-<name>`. */
  name: string;
  /** Workload it belongs to, e.g. `sequencer` or `receiver-g0` (a StatefulSet in a cluster). */
  workload: string;
  /** Start order: lower first; members of a later phase start once the earlier ones are ready. */
  phase: number;
  /** The protocol tolerates this member dying (e.g. a Hydra sequencer is removed by reconfiguration). */
  expendable: boolean;
  /** Drives the workload; stopped first at the end of a run so that in-flight messages drain. */
  load: boolean;
}

export interface Workload {
  name: string;
  kind: 'StatefulSet' | 'Deployment';
  replicas: number;
}

/** A counter of one role's members that moves while the protocol does its job. */
export interface ProgressCounter {
  /** Members counted: those whose name starts with this, e.g. `receiver-`. */
  members: string;
  /** The role in words, plural: `receivers`. */
  role: string;
  metric: string;
  /** Only series with these labels, e.g. `{ result: 'committed' }`. */
  labels: Record<string, string>;
  /** What the counter counts, as verbs: `delivered`, `delivering`. */
  did: string;
  doing: string;
}

export interface ProgressSignal {
  counter: ProgressCounter;
  /** A counter upstream of it, named in a stall message to say where the work stops (null: none). */
  meanwhile: ProgressCounter | null;
  /** The spec's longest failure-detection timeout (ms): no stall is declared sooner than this. */
  timeoutMs: number;
}

/** The planner's output: everything both materializations (operator, local runner) need. */
export interface Plan {
  kind: string;
  name: string;
  /** Member name → member id (the port offset locally). */
  idOf: (name: string) => number;
  /** Ids to keep addresses for: every member the spec may scale to without a restart. */
  reservedIds: number[];
  document: PlannedDocument;
  members: PlannedMember[];
  workloads: Workload[];
  durationSeconds: number;
  /** How long the load runs before the measurement window opens (connection setup, JIT warm-up). */
  warmupSeconds: number;
  /** Compute resources of every member pod. */
  resources: { requests: Record<string, string>; limits: Record<string, string | undefined> };
  /** Document fields that may change on a running testbed (others need a restart). */
  liveFields: string[];
  /**
   * The command that tells the running protocol its new membership, and the members that take
   * it (null: fixed membership). It goes to every one of them — any may be down or restarting;
   * the protocol forwards it to whichever acts on it.
   */
  reconfigure: {
    members: string[];
    command: unknown;
    /** The status field (read from that member's metrics) that shows the change took effect, and its target. */
    converged: { field: string; value: number };
  } | null;
  /**
   * The members whose metrics carry the protocol's status numbers, and which: field → metric name.
   * A field takes the value a majority of these members report (one member: its value).
   */
  statusMembers: string[];
  statusMetrics: Record<string, string>;
  /** The status numbers in words, for a user reading why the testbed stalled (null: nothing to say). */
  describeStatus: (values: Record<string, number>) => string | null;
  /** What shows the protocol making progress (null: no load, nothing is expected to move). */
  progress: ProgressSignal | null;
  /** Fresh key material for a new testbed (the materializer stores it: a 0600 file, a Secret), or null. */
  keys: (() => unknown) | null;
  /** Whether the load members record key-value histories at /history.json for the linearizability checker. */
  histories: boolean;
  /**
   * How the load members finish after the measurement window, or null (they are just stopped):
   * the admin command that makes them stop issuing requests, and the gauge that falls to zero
   * once every request sent has been answered — what is still outstanding then was lost.
   */
  drain: { command: unknown; outstanding: string } | null;
}
