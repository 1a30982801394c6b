import { z } from 'zod';
import { API_GROUP, API_VERSION, metadata, networkSpec, podResources } from './common.js';
import { commonStatus, immutable } from './status.js';

/** The MigratingService custom resource: one Capybara testbed (docs/capybara.md). */
export const migratingServiceSpec = z.strictObject({
  servers: z.number().int().min(1).max(64).default(4).describe('Backend servers behind the virtual IP.').meta(immutable('spec.servers')),
  application: z.enum(['kv', 'echo']).default('kv')
    .describe('What the servers run: a key-value store speaking Redis inline commands (each connection its own keyspace, which migrates with it), or echo.')
    .meta(immutable('spec.application')),
  serviceMicros: z.number().min(0).max(1_000_000).default(0)
    .describe('Emulated service time of one request at a server (0: as fast as the process runs). A server then serves at most 1e6/serviceMicros requests per second and queues the rest, as a loaded backend does; this is what makes an imbalance hurt.'),
  migration: z.strictObject({
    mode: z.enum(['capybara', 'reactive', 'lwrr', 'reconnect']).default('capybara')
      .describe('capybara: servers short of capacity migrate live connections, by rate and by queue length (the artifact\'s policy); reactive: a server migrates on queue length alone (the paper\'s reactive baseline); lwrr: connections stay where the switch placed them (the paper\'s LWRR baseline); reconnect: servers short of capacity reset the connections the rate policy would move, and clients reconnect and rebuild their sessions.'),
    rpsThreshold: z.number().min(1).max(64).default(1.1)
      .describe('Where rate shedding stops, as a multiple of the fair share (cluster rate / servers): the artifact\'s RPS_THRESHOLD, 0.55 of two servers\' sum.'),
    thresholdEpsilon: z.number().min(0).max(64).default(0.1)
      .describe('A server sheds by rate once above rpsThreshold + this (same unit): THRESHOLD_EPSILON, 0.05 of two servers\' sum; 1.2 in all is the SIGCOMM\'26 artifact\'s 60 %.'),
    minClusterRps: z.number().min(0).max(100_000_000).default(500).describe('No rate shedding while the whole cluster serves fewer requests per second (the artifact\'s MIN_THRESHOLD, scaled to an emulated testbed).'),
    connectionRateCapRps: z.number().min(0).max(100_000_000).default(200_000)
      .describe('Only connections at or below this many requests per second are moved (MIG_CONN_RPS_CAP: 200 per 1 ms signal).'),
    cooldownMillis: z.number().int().min(0).max(60_000).default(10).describe('Pause after a rate-triggered decision (MIG_COOLDOWN_MS).'),
    maxPerDecision: z.number().int().min(1).max(1000).default(20).describe('Most connections moved per decision (MAX_EXTRACTED_CONNECTIONS).'),
    queueThreshold: z.number().int().min(1).max(1_000_000).nullable().default(null)
      .describe('Requests waiting for service at a server that trigger reactive migration (null: 20 under capybara, RECV_QUEUE_LEN_THRESHOLD; 10 under reactive, MIG_QUEUE_TRIGGER_LEN). Needs serviceMicros > 0: without service time nothing waits.'),
    reactiveCooldownMillis: z.number().int().min(0).max(60_000).nullable().default(null)
      .describe('Pause after a queue-triggered decision (null: 10 under capybara, REACTIVE_COOLDOWN_MS; 5 under reactive).'),
    shortAtUtilisation: z.number().gt(0).max(10).default(0.9)
      .describe('Under capybara and reconnect a server moves nothing until requests arrive at this share of its capacity (1e6 / serviceMicros per second): below capacity a migration only costs the tail. No effect with serviceMicros 0 (capacity unknown).'),
    retryMicros: z.number().int().min(100).max(10_000_000).default(2000)
      .describe('First resend interval of an unanswered migration message; each resend waits twice as long as the one before, up to 16 times this.'),
    forcedEveryMillis: z.number().min(1).max(3_600_000).nullable().default(null)
      .describe('Each server also migrates a random connection this often, whatever its load (null: never; capybara and reactive only): how migration latency is measured.'),
  }).prefault({}),
  switch: z.strictObject({
    assignment: z.enum(['round-robin', 'least-connections', 'least-loaded']).default('round-robin')
      .describe('Where the switch sends a new connection: in turn; to the server with the fewest live connections, ties in turn (least-weighted round robin with equal weights: the same as in turn while no connection ends); or to the server with the fewest requests lately.'),
    signalIntervalMicros: z.number().int().min(100).max(1_000_000).default(1000).describe('Period of the request-rate signals to the servers.'),
    servicePort: z.number().int().min(1).max(65_535).default(6379).describe('TCP port of the service on the virtual IP.'),
  }).prefault({}),
  network: networkSpec.prefault({}),
  workload: z.strictObject({
    clients: z.number().int().min(0).max(64).default(2).describe('Client processes.'),
    connectionsPerClient: z.number().int().min(1).max(16_000).default(100).describe('TCP connections each client keeps open.'),
    ratePerClient: z.number().min(0).max(10_000_000).default(4000).describe('Requests per second per client (open loop), spread over its connections by a Zipf law.'),
    loop: z.enum(['open', 'closed']).default('open').describe('Open loop (Poisson arrivals, pipelined) or closed loop (one request outstanding per connection).'),
    zipf: z.number().min(0).max(3).default(1.2).describe('Zipf exponent of the per-connection rates (0: uniform).'),
    step: z.strictObject({
      atSeconds: z.number().min(0).max(86_400).nullable().default(3)
        .describe('When the connections first placed on server 0 step up (null: never).'),
      factor: z.number().min(1).max(1000).default(10).describe('How much their rate is multiplied.'),
    }).prefault({}),
    bursts: z.strictObject({
      everySeconds: z.number().min(0.01).max(3600).nullable().default(null).describe('Period of the bursts (null: none).'),
      lengthMillis: z.number().int().min(1).max(3_600_000).default(100).describe('How long each burst lasts.'),
      factor: z.number().min(1).max(1000).default(5).describe('How much every connection\'s rate is multiplied during a burst.'),
    }).prefault({}),
    stateBytes: z.number().int().min(0).max(1_048_576).default(256).describe('Bytes each connection stores in its session (the application state that migrates).'),
    durationSeconds: z.number().int().min(1).max(86_400).default(20).describe('How long `switchyard up` runs.'),
  }).prefault({}),
  resources: podResources.prefault({}),
});

export const migratingServiceStatus = z.strictObject({ ...commonStatus });

export const migratingService = z.strictObject({
  apiVersion: z.literal(`${API_GROUP}/${API_VERSION}`),
  kind: z.literal('MigratingService'),
  metadata,
  spec: migratingServiceSpec.prefault({}),
  status: migratingServiceStatus.optional(),
});

export type MigratingService = z.output<typeof migratingService>;
