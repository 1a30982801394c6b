import { z } from 'zod';

const micros = (max = 60_000_000) => z.number().int().min(0).max(max);

/** Everything a Hydra member needs beyond addressing; produced by the planner from the spec. */
export const hydraParams = z.strictObject({
  groups: z.number().int().min(1).max(32),
  receiversPerGroup: z.number().int().min(1).max(50),
  clients: z.number().int().min(0).max(1000),
  aggregator: z.boolean(),
  /** Sequencers active in configuration 1 (ids 0..n-1). */
  sequencers: z.number().int().min(1).max(64),
  /** Per sequencer id: emulated clock offset and rate error. */
  sequencerClocks: z.array(z.strictObject({ skewMicros: z.number().int(), drift: z.number().gt(-0.5).lt(0.5) })).max(64),
  flushIntervalMicros: micros(),
  minFlushGapMicros: micros(),
  loadIntervalMicros: micros().min(1000),
  joinRetryMicros: micros().min(1000),
  solicitation: z.enum(['immediate', 'batched']),
  solicitIntervalMicros: micros().min(50),
  failureTimeoutMicros: micros().min(1000),
  /** Replicas of the configuration service (2f + 1). */
  configReplicas: z.number().int().min(1).max(7).refine((n) => n % 2 === 1, 'must be odd (2f + 1 replicas)'),
  configTickMicros: micros().min(1000),
  /** A configuration backup that hears nothing from its primary this long starts a view change. */
  configViewChangeMicros: micros().min(1000),
  reportGraceMicros: micros(),
  addTimeoutMicros: micros().min(1000),
  routing: z.enum(['random', 'load-aware']),
  ratePerClient: z.number().min(0),
  payloadBytes: z.number().int().min(0).max(1200),
  multiGroupShare: z.number().min(0).max(1),
  clientTickMicros: micros().min(100),
  /**
   * The application on the receivers: none, HydraPaxos replicas (every group a replicated
   * key-value shard) or HydraTxn replicas (every group a replicated shard of a transactional
   * store; `multiGroupShare` of the transactions span two shards).
   */
  application: z.enum(['none', 'hydrapaxos', 'hydratxn']),
  keySpace: z.number().int().min(1),
  syncIntervalMicros: micros().min(1000),
  viewChangeMicros: micros().min(1000),
  clientRetryMicros: micros().min(1000),
});

export type HydraParams = z.output<typeof hydraParams>;
