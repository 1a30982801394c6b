import { z } from 'zod';
import { API_GROUP, API_VERSION, metadata, networkSpec, podResources } from './common.js';
import { commonStatus, immutable } from './status.js';

/** The BFTCluster custom resource: one NeoBFT testbed over authenticated ordered multicast (docs/neobft.md). */
export const bftClusterSpec = z.strictObject({
  protocol: z.enum(['neobft-hm', 'neobft-pk', 'pbft', 'hotstuff', 'zyzzyva', 'unreplicated']).default('neobft-hm')
    .describe('NeoBFT over AOM with HalfSipHash MAC vectors (hm) or secp256k1 signatures on a hash chain (pk); the baselines PBFT, chained HotStuff and Zyzzyva; or one unreplicated server (replicas and f are then ignored).')
    .meta(immutable('spec.protocol')),
  f: z.number().int().min(1).max(5).default(1).describe('Faulty replicas tolerated.').meta(immutable('spec.f')),
  replicas: z.number().int().min(4).max(16).default(4).describe('Replicas; must be 3f+1.').meta(immutable('spec.replicas')),
  sequencers: z.number().int().min(1).max(9).default(2)
    .describe('NeoBFT: AOM sequencers. The first orders epoch 1; epoch e is ordered by sequencer (e-1) mod this, so the others stand by for failover (an epoch change).')
    .meta(immutable('spec.sequencers')),
  signedRequests: z.boolean().default(false)
    .describe('NeoBFT: clients sign each request (secp256k1) and replicas verify it, so a request forged in a client\'s name becomes a no-op (as in the paper; costs one signature per request and one verification per request per replica).'),
  byzantineNetwork: z.boolean().default(false)
    .describe('NeoBFT: do not trust the sequencer; replicas deliver a message only after 2f+1 signed CONFIRMs of it.'),
  batching: z.strictObject({
    maxBatch: z.number().int().min(1).max(1024).default(16).describe('PBFT, HotStuff, Zyzzyva: most requests the primary (leader) orders in one batch (block).'),
    delayMicros: z.number().int().min(0).max(1_000_000).default(200).describe('PBFT, HotStuff, Zyzzyva: how long the primary (leader) waits to fill a batch (block).'),
  }).prefault({}),
  signing: z.strictObject({
    budgetPerSecond: z.number().int().min(0).max(1_000_000).default(0)
      .describe('Signatures per second the PK sequencer may spend; 0 measures its signing rate at start-up and uses half.'),
    maxUnsigned: z.number().int().min(0).max(1000).default(16).describe('Longest run of unsigned messages in the hash chain.'),
  }).prefault({}),
  timeouts: z.strictObject({
    gapMicros: z.number().int().min(100).max(10_000_000).default(2000).describe('How long a missing sequence number is awaited before it is a drop.'),
    retryMicros: z.number().int().min(500).max(10_000_000).default(5000).describe('Replica retransmission period (queries, gap agreement).'),
    clientRetryMillis: z.number().int().min(1).max(60_000).default(100).describe('Client timeout before resending a request.'),
    commitMicros: z.number().int().min(100).max(10_000_000).default(2000)
      .describe('Zyzzyva: how long a client waits for 3f+1 matching speculative responses before it sends the 2f+1 it has as a commit certificate (the two-phase case).'),
    viewChangeMillis: z.number().int().min(1).max(60_000).default(200)
      .describe('How long a replica waits before it changes view: NeoBFT, for a stuck slot (leader) or a directly sent request (sequencer); PBFT and Zyzzyva, for a request it relayed to the primary; HotStuff, the pacemaker\'s view timeout (each doubled per failed view change).'),
  }).prefault({}),
  network: networkSpec.prefault({}),
  workload: z.strictObject({
    clients: z.number().int().min(0).max(64).default(4).describe('Closed-loop clients, one request outstanding each.'),
    keySpace: z.number().int().min(1).max(1_000_000).default(100).describe('Keys the clients read and write.'),
    durationSeconds: z.number().int().min(1).max(86_400).default(20).describe('How long `switchyard up` runs.'),
  }).prefault({}),
  faults: z.strictObject({
    replicas: z.array(z.strictObject({
      index: z.number().int().min(0).max(15).describe('Which replica (replica-N).'),
      behaviour: z.enum(['silent', 'equivocating', 'corrupt-replies', 'wrong-results'])
        .describe('silent: sends nothing; equivocating: validly signed gap votes for a made-up outcome, no help finding lost messages; corrupt-replies: reply MACs garbled; wrong-results: forged results under valid MACs.'),
    })).max(5).default([]).describe('Byzantine replicas (NeoBFT, HotStuff, Zyzzyva), holding their real keys; at most f, so safety must hold. What each behaviour does in each protocol: docs/hotstuff.md, docs/zyzzyva.md.'),
    byzantineClient: z.boolean().default(false).describe('One more client, spraying malformed requests at the sequencer (the baselines: at the replicas).'),
    sequencer: z.enum(['none', 'equivocate', 'reorder', 'forge']).default('none')
      .describe('sequencer-0 misbehaves under its real keys (neobft-hm): equivocate sends every 7th number in two versions, one per half of the replicas; reorder swaps the requests of every 7th and next number for half of them (only byzantineNetwork mode detects these); forge puts a write of its own making in client 0\'s name into every 7th number (only signedRequests detects it).'),
  }).prefault({}).describe('Faulty members to inject, to watch the protocol survive them.'),
  resources: podResources.prefault({}),
});

export const bftClusterStatus = z.strictObject({
  ...commonStatus,
  epoch: z.number().int().min(0).optional().describe('Current epoch (sequencer installation).'),
  leader: z.number().int().min(0).optional().describe('Index of the current leader replica.'),
});

export const bftCluster = z.strictObject({
  apiVersion: z.literal(`${API_GROUP}/${API_VERSION}`),
  kind: z.literal('BFTCluster'),
  metadata,
  spec: bftClusterSpec.prefault({}).refine((s) => s.protocol === 'unreplicated' || s.replicas === 3 * s.f + 1, {
    message: 'replicas must be 3f+1', path: ['replicas'],
  }).refine((s) => s.faults.replicas.length <= s.f, {
    message: 'at most f replicas may be faulty (more void the protocol\'s guarantees)', path: ['faults', 'replicas'],
  }).refine((s) => s.faults.replicas.every((r) => r.index < s.replicas) && new Set(s.faults.replicas.map((r) => r.index)).size === s.faults.replicas.length, {
    message: 'faulty replica indexes must be distinct and below spec.replicas', path: ['faults', 'replicas'],
  }).refine((s) => s.faults.replicas.length === 0 || !['pbft', 'unreplicated'].includes(s.protocol), {
    message: 'faulty replicas are injected into NeoBFT, HotStuff and Zyzzyva (not PBFT or the unreplicated server)', path: ['faults', 'replicas'],
  }).refine((s) => s.faults.sequencer === 'none' || s.protocol === 'neobft-hm', {
    message: 'a misbehaving sequencer needs protocol neobft-hm', path: ['faults', 'sequencer'],
  }),
  status: bftClusterStatus.optional(),
});

export type BftCluster = z.output<typeof bftCluster>;
