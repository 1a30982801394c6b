import { z } from 'zod';

const micros = z.number().int().min(1).max(60_000_000);

/** Everything a BFTCluster member needs beyond addressing and keys; produced by the planner. */
export const neobftParams = z.strictObject({
  /** NeoBFT over AOM, or a baseline: PBFT (one replica with f = 0: the unreplicated server), chained HotStuff, Zyzzyva. */
  protocol: z.enum(['neobft', 'pbft', 'hotstuff', 'zyzzyva']),
  scheme: z.enum(['hm', 'pk']),
  f: z.number().int().min(0).max(21),
  replicas: z.number().int().min(1).max(64),
  /** AOM sequencer processes: the first orders epoch 1, the others stand by for failover. */
  sequencers: z.number().int().min(0).max(9),
  maxBatch: z.number().int().min(1).max(1024),
  batchDelayMicros: z.number().int().min(0),
  clients: z.number().int().min(0).max(1000),
  signBudgetPerSecond: z.number().int().min(0),
  maxUnsigned: z.number().int().min(0),
  idleSignMicros: micros,
  gapMicros: micros,
  retryMicros: micros,
  clientRetryMicros: micros,
  /** Zyzzyva: the client's wait for 3f+1 matching speculative responses before it commits 2f+1. */
  commitMicros: micros,
  /** How long a replica waits for progress before it changes view (and for a view change before it moves on). */
  viewChangeMicros: micros,
  keySpace: z.number().int().min(1),
  byzantineNetwork: z.boolean(),
  /** Clients sign requests; replicas refuse (as a no-op slot) any not signed by the client it names. */
  signedRequests: z.boolean(),
  /** Injected faults (see BFTCluster spec.faults): Byzantine replicas, an intruder client, a lying sequencer-0. */
  faults: z.strictObject({
    replicas: z.array(z.strictObject({ index: z.number().int().min(0), behaviour: z.enum(['silent', 'equivocating', 'corrupt-replies', 'wrong-results']) })),
    intruder: z.boolean(),
    sequencer: z.enum(['none', 'equivocate', 'reorder', 'forge']),
  }),
});

export type NeobftParams = z.output<typeof neobftParams>;
