import { z } from 'zod';

const micros = z.number().int().min(1).max(60_000_000);

/** Everything a MigratingService member needs beyond addressing; produced by the planner. */
export const capybaraParams = z.strictObject({
  servers: z.number().int().min(1).max(64),
  clients: z.number().int().min(0).max(1000),
  servicePort: z.number().int().min(1).max(65_535),
  app: z.enum(['kv', 'echo']),
  mode: z.enum(['capybara', 'reactive', 'lwrr', 'reconnect']),
  assign: z.enum(['round-robin', 'least-connections', 'least-loaded']),
  signalIntervalMicros: micros,
  migrationRetryMicros: micros,
  /** Emulated service time per request at a server (0: none). */
  serviceMicros: z.number().min(0).max(1_000_000),
  /** Each server migrates a random connection this often regardless of load (null: never). */
  forcedMigrationMicros: micros.nullable(),
  /** The policy's knobs (policy.ts), with the mode's defaults filled in by the planner. */
  policy: z.strictObject({
    rpsThreshold: z.number().min(1),
    epsilon: z.number().min(0),
    minTotalRps: z.number().min(0),
    connRateCapRps: z.number().min(0),
    cooldownMicros: z.number().int().min(0),
    maxPerDecision: z.number().int().min(1),
    queueThreshold: z.number().int().min(1),
    reactiveCooldownMicros: z.number().int().min(0),
    shortAtUtilisation: z.number().gt(0),
  }),
  workload: z.strictObject({
    connectionsPerClient: z.number().int().min(1).max(16_000),
    ratePerClient: z.number().min(0),
    loop: z.enum(['open', 'closed']),
    zipf: z.number().min(0),
    stepAtMicros: z.number().int().min(0).nullable(),
    stepFactor: z.number().min(1),
    bursts: z.strictObject({ everyMicros: micros, lengthMicros: micros, factor: z.number().min(1) }).nullable(),
    stateBytes: z.number().int().min(0),
  }),
});

export type CapybaraParams = z.output<typeof capybaraParams>;
