import { z } from 'zod';
import { API_GROUP, API_VERSION, metadata, networkSpec, podResources } from './common.js';
import { commonStatus, immutable } from './status.js';

export const MAX_SEQUENCERS_IN_SPEC = 16;

/** The SequencerGroup custom resource: one Hydra testbed (docs/hydra.md). */
export const sequencerGroupSpec = z.strictObject({
  sequencers: z.number().int().min(1).max(MAX_SEQUENCERS_IN_SPEC).default(3)
    .describe('Number of active sequencers; changing it live goes through Hydra\'s add/remove protocol.'),
  configReplicas: z.number().int().min(1).max(7).default(3)
    .refine((n) => n % 2 === 1, 'must be odd: 2f + 1 replicas survive the loss of f')
    .describe('Replicas of Hydra\'s configuration service (2f + 1, Viewstamped Replication): the service survives the loss of any f of them, and a restarted one takes the state from the others.')
    .meta({ 'x-kubernetes-validations': [
      { rule: 'self % 2 == 1', message: 'spec.configReplicas must be odd: 2f + 1 replicas survive the loss of f' },
      ...immutable('spec.configReplicas')['x-kubernetes-validations'],
    ] }),
  groups: z.number().int().min(1).max(8).default(2).describe('Number of receiver groups.').meta(immutable('spec.groups')),
  receiversPerGroup: z.number().int().min(1).max(9).default(3).describe('Receivers in every group.')
    .meta(immutable('spec.receiversPerGroup')),
  flush: z.strictObject({
    intervalMicros: z.number().int().min(0).max(1_000_000).default(1000)
      .describe('Period of unsolicited sequencer flushes in microseconds; 0 means flushes are only solicited.'),
    solicitation: z.enum(['immediate', 'batched']).default('immediate')
      .describe('Receivers ask lagging sequencers for a flush at once, or once per solicitIntervalMicros.'),
    solicitIntervalMicros: z.number().int().min(50).max(1_000_000).default(500)
      .describe('Batching period, and retry period of an unanswered solicitation.'),
    aggregation: z.boolean().default(true)
      .describe('Run a flush aggregator that forwards flushes only when the minimum clock advanced.'),
  }).prefault({}),
  application: z.enum(['none', 'hydrapaxos', 'hydratxn']).default('none')
    .describe('What runs on the ordering: none (open-loop senders), hydrapaxos (a key-value store replicated over each group, with closed-loop clients) or hydratxn (a transactional store sharded over the groups, each shard replicated; transactions spanning shards are one multi-group message).')
    .meta(immutable('spec.application')),
  routing: z.enum(['random', 'load-aware']).default('random')
    .describe('How senders pick a sequencer per message.'),
  failureTimeoutMillis: z.number().int().min(5).max(60_000).default(250)
    .describe('Silence after which receivers suspect a sequencer and ask for its removal.'),
  clocks: z.strictObject({
    maxSkewMicros: z.number().int().min(0).max(1_000_000).default(0)
      .describe('Each sequencer\'s clock is offset by a fixed amount up to this, either way.'),
    maxDrift: z.number().min(0).max(0.01).default(0)
      .describe('Each sequencer\'s clock runs fast or slow by up to this fraction.'),
  }).prefault({}),
  network: networkSpec.prefault({}),
  workload: z.strictObject({
    clients: z.number().int().min(0).max(64).default(4).describe('Number of sender processes.'),
    ratePerClient: z.number().int().min(0).max(200_000).default(2000).describe('Messages per second per client.'),
    payloadBytes: z.number().int().min(0).max(1200).default(64).describe('Payload size of each message.'),
    multiGroupShare: z.number().min(0).max(1).default(0.2).describe('Share of messages (hydratxn: transactions) sent to two groups.'),
    keys: z.number().int().min(1).max(100_000).default(64).describe('Key space of the key-value clients (applications only).'),
    durationSeconds: z.number().int().min(1).max(86_400).default(20)
      .describe('How long `switchyard up` runs before printing its summary.'),
  }).prefault({}),
  resources: podResources.prefault({}),
});

export const sequencerGroupStatus = z.strictObject({
  ...commonStatus,
  configuration: z.number().int().min(0).optional().describe('Hydra configuration number installed by the configuration service.'),
  activeSequencers: z.number().int().min(0).optional().describe('Sequencers in the current configuration.'),
});

export const sequencerGroup = z.strictObject({
  apiVersion: z.literal(`${API_GROUP}/${API_VERSION}`),
  kind: z.literal('SequencerGroup'),
  metadata,
  spec: sequencerGroupSpec.prefault({}),
  status: sequencerGroupStatus.optional(),
});

export type SequencerGroupSpec = z.output<typeof sequencerGroupSpec>;
export type SequencerGroup = z.output<typeof sequencerGroup>;
