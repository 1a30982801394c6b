import { Counter, Gauge, type Registry } from 'prom-client';
import type { AomSequencerObserver } from './aom-sequencer.js';
import type { EpochSequencerObserver } from './epoch-sequencer.js';
import type { KvClientObserver } from '../apps/kv-client.js';
import { kvClientMetrics } from '../apps/kv-metrics.js';
import { valuesOf, zeroed } from '../runtime/metrics.js';
import { orderingReplicaMetrics, orderingReplicaNames } from '../apps/replica-metrics.js';
import type { AomRejection } from './aom-receiver.js';
import type { NeoBftRefusal, ReplicaObserver } from './replica.js';
import type { PbftObserver, PbftViewChangeReason } from '../pbft/replica.js';
import type { HotStuffObserver, HotStuffViewChangeReason } from '../hotstuff/replica-params.js';
import type { ZyzzyvaObserver, ZyzzyvaViewChangeReason } from '../zyzzyva/replica-params.js';
import type { ZyzzyvaClientObserver } from '../zyzzyva/client.js';

/** What a BFTCluster runs: the `system` label of its clients' metrics. */
export type BftSystem = 'neobft' | 'pbft' | 'hotstuff' | 'zyzzyva' | 'unreplicated';

/** BFTCluster's metric names (DESIGN.md: `switchyard_aom_*`, `switchyard_neobft_*`, `switchyard_pbft_*`). */
export const BFT_METRICS = {
  aomAuthenticated: 'switchyard_aom_authenticated_total',
  aomSequencerEpoch: 'switchyard_aom_sequencer_epoch',
  aomIdleRequests: 'switchyard_aom_idle_requests_total',
  aomVerified: 'switchyard_aom_verified_total',
  aomRejected: 'switchyard_aom_rejected_total',
  executed: 'switchyard_neobft_executed_total',
  gapAgreements: 'switchyard_neobft_gap_agreements_total',
  rollbacks: 'switchyard_neobft_rollbacks_total',
  invalid: 'switchyard_neobft_invalid_total',
  epoch: 'switchyard_neobft_epoch',
  leader: 'switchyard_neobft_leader',
  viewChanges: 'switchyard_neobft_view_changes_total',
  syncPoint: 'switchyard_neobft_sync_point',
  stateTransfers: 'switchyard_neobft_state_transfers_total',
  pbft: { ...orderingReplicaNames('pbft'), stableCheckpoint: 'switchyard_pbft_stable_checkpoint' },
  hotstuff: { ...orderingReplicaNames('hotstuff'), committedHeight: 'switchyard_hotstuff_committed_height' },
  zyzzyva: {
    ...orderingReplicaNames('zyzzyva'),
    committed: 'switchyard_zyzzyva_committed_seq',
    rollbacks: 'switchyard_zyzzyva_rollbacks_total',
    clientCompletions: 'switchyard_zyzzyva_client_completions_total',
  },
} as const;

/** Binds the BFTCluster roles' observers (NeoBFT, and the PBFT and unreplicated baselines) to the metric names of the dashboards' contract (DESIGN.md). */
export function neobftMetrics(registry: Registry) {
  const r = [registry];
  return {
    sequencer: () => sequencerMetrics(r),
    replica: (replicas: number) => replicaMetrics(r, replicas),
    pbftReplica: () => pbftReplicaMetrics(registry),
    hotstuffReplica: () => hotstuffReplicaMetrics(registry),
    zyzzyvaReplica: () => zyzzyvaReplicaMetrics(registry),
    zyzzyvaClient: () => zyzzyvaClientMetrics(registry),
    client: (system: BftSystem): KvClientObserver => kvClientMetrics(registry, system),
  };
}

function sequencerMetrics(r: Registry[]): AomSequencerObserver & EpochSequencerObserver {
  const c = new Counter({ name: BFT_METRICS.aomAuthenticated, help: 'Messages authenticated by the sequencer (signatures: signed ones).', labelNames: ['scheme', 'signed'], registers: r });
  const installed = new Gauge({ name: BFT_METRICS.aomSequencerEpoch, help: 'The epoch this sequencer orders (0: standing by).', registers: r });
  const idle = new Counter({ name: BFT_METRICS.aomIdleRequests, help: 'Requests refused while standing by (no epoch installed).', registers: r });
  return {
    authenticated: (scheme, signed) => c.labels(scheme, String(signed)).inc(),
    installed: (e) => installed.set(e),
    idle: () => idle.inc(),
  };
}

function replicaMetrics(r: Registry[], replicas: number): ReplicaObserver {
  const verified = new Counter({ name: BFT_METRICS.aomVerified, help: 'Authenticator checks at receivers.', labelNames: ['scheme', 'result'], registers: r });
  const rejected = zeroed(new Counter({ name: BFT_METRICS.aomRejected, help: 'AOM messages refused, by reason.', labelNames: ['reason'], registers: r }), valuesOf<AomRejection>({
    'wrong-group': true, 'wrong-epoch': true, replayed: true, duplicate: true, equivocation: true, corrupted: true, 'bad-mac': true,
    'bad-signature': true, 'chain-broken': true, unverifiable: true, 'buffer-full': true,
  }));
  const executed = zeroed(new Counter({ name: BFT_METRICS.executed, help: 'Log slots executed (speculatively), by kind.', labelNames: ['kind'], registers: r }), ['request', 'no-op']);
  const gaps = zeroed(new Counter({ name: BFT_METRICS.gapAgreements, help: 'Gap agreements completed, by outcome.', labelNames: ['outcome'], registers: r }),
    valuesOf<Parameters<ReplicaObserver['gapAgreement']>[1]>({ message: true, 'no-op': true }));
  const rollbacks = new Counter({ name: BFT_METRICS.rollbacks, help: 'Slots rolled back after a gap became a no-op.', registers: r });
  const invalid = zeroed(new Counter({ name: BFT_METRICS.invalid, help: 'Protocol messages refused, by reason.', labelNames: ['reason'], registers: r }), valuesOf<NeoBftRefusal>({
    'bad-confirm': true, 'bad-gap-decision': true, 'bad-gap-drop': true, 'bad-gap-find': true, 'bad-gap-vote': true, 'bad-state-certificate': true,
    'bad-sync': true, 'bad-view-change': true, 'bad-view-start': true, 'certificate-for-another-slot': true, 'forged-certificate': true,
    'gap-decision-contradicts-confirm': true, 'malformed-request': true, 'bad-client-signature': true, 'unknown-client': true, 'no-keys-for-next-epoch': true,
    'view-change-below-sync-point': true, 'malformed-state': true, 'state-digest-mismatch': true, 'other-view': true, 'bad-recovery-reply': true,
  }));
  const epoch = new Gauge({ name: BFT_METRICS.epoch, help: 'Current epoch (sequencer installation).', registers: r });
  const leader = new Gauge({ name: BFT_METRICS.leader, help: 'Index of the current leader replica.', registers: r });
  epoch.set(1);
  leader.set(0);
  const viewChanges = zeroed(new Counter({ name: BFT_METRICS.viewChanges, help: 'View changes started, by reason (leader, sequencer, timeout, joined).', labelNames: ['reason'], registers: r }),
    valuesOf<Parameters<ReplicaObserver['viewChanged']>[1]>({ leader: true, sequencer: true, timeout: true, joined: true }));
  const syncPoint = new Gauge({ name: BFT_METRICS.syncPoint, help: 'Highest slot made final by 2f+1 matching SYNCs.', registers: r });
  const stateTransfers = new Counter({ name: BFT_METRICS.stateTransfers, help: 'State transfers taken (this replica was behind the others\' compacted prefix).', registers: r });
  return {
    synced: (slot) => syncPoint.set(slot),
    stateTransferred: () => stateTransfers.inc(),
    verified: (scheme, ok) => verified.labels(scheme, ok ? 'ok' : 'failed').inc(),
    rejected: (reason) => rejected.labels(reason).inc(),
    executed: (_slot, noop) => executed.labels(noop ? 'no-op' : 'request').inc(),
    gapAgreement: (_slot, outcome) => gaps.labels(outcome).inc(),
    rolledBack: (n) => rollbacks.inc(n),
    invalid: (reason) => invalid.labels(reason).inc(),
    viewChanged: (_view, reason) => viewChanges.labels(reason).inc(),
    viewStarted: (view) => {
      epoch.set(view.epoch);
      leader.set(view.leader % replicas);
    },
  };
}

function pbftReplicaMetrics(registry: Registry): PbftObserver {
  const names = BFT_METRICS.pbft;
  const stable = new Gauge({ name: names.stableCheckpoint, help: 'Sequence number of the latest stable checkpoint (2f+1 matching signed CHECKPOINTs).', registers: [registry] });
  return {
    ...orderingReplicaMetrics(registry, names, 'PBFT', valuesOf<PbftViewChangeReason>({ 'request-timeout': true, 'new-view-timeout': true, joined: true, 'restarted-primary': true })),
    checkpointStable: (seq) => stable.set(seq),
  };
}

function hotstuffReplicaMetrics(registry: Registry): HotStuffObserver {
  const names = BFT_METRICS.hotstuff;
  const committed = new Gauge({ name: names.committedHeight, help: 'Height of the latest block this replica committed (three-chain rule).', registers: [registry] });
  return {
    ...orderingReplicaMetrics(registry, names, 'HotStuff', valuesOf<HotStuffViewChangeReason>({ timeout: true, synchronized: true, restarted: true })),
    committed: (height) => committed.set(height),
  };
}

function zyzzyvaReplicaMetrics(registry: Registry): ZyzzyvaObserver {
  const names = BFT_METRICS.zyzzyva;
  const registers = [registry];
  const committed = new Gauge({ name: names.committed, help: 'Sequence number of the latest commit certificate or stable checkpoint this replica holds.', registers });
  const rollbacks = new Counter({ name: names.rollbacks, help: 'Speculatively executed requests undone by a view change.', registers });
  return {
    ...orderingReplicaMetrics(registry, names, 'Zyzzyva', valuesOf<ZyzzyvaViewChangeReason>({ 'i-hate-the-primary': true, 'proof-of-misbehaviour': true, 'new-view-timeout': true, joined: true })),
    committed: (seq) => committed.set(seq),
    rolledBack: (n) => rollbacks.inc(n),
  };
}

/** A Zyzzyva client's operations by the path they completed on (fast: 3f+1 speculative responses; two-phase: a commit certificate). */
function zyzzyvaClientMetrics(registry: Registry): ZyzzyvaClientObserver {
  const paths = zeroed(new Counter({ name: BFT_METRICS.zyzzyva.clientCompletions, help: 'Zyzzyva client operations completed, by path (fast, two-phase).', labelNames: ['path'], registers: [registry] }), ['fast', 'two-phase']);
  return {
    ...kvClientMetrics(registry, 'zyzzyva'),
    fastPath: () => paths.labels('fast').inc(),
    twoPhase: () => paths.labels('two-phase').inc(),
  };
}
