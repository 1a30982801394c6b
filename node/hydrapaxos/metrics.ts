import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReceiverObserver } from '../hydra/receiver.js';
import { WIRE_REASONS } from '../runtime/core.js';
import { valuesOf, zeroed } from '../runtime/metrics.js';
import { HYDRAPAXOS_INVARIANTS, type HydraPaxosObserver, type HydraPaxosRefusal, type ViewChangeReason } from './replica-params.js';

/** HydraPaxos's and HydraTxn's metric names (DESIGN.md: `switchyard_hydrapaxos_*`, `switchyard_hydratxn_*`). */
export const HYDRAPAXOS_METRICS = {
  executed: 'switchyard_hydrapaxos_executed_total',
  noops: 'switchyard_hydrapaxos_noops_total',
  viewChanges: 'switchyard_hydrapaxos_view_changes_total',
  view: 'switchyard_hydrapaxos_view',
  stateTransfers: 'switchyard_hydrapaxos_state_transfers_total',
  rejected: 'switchyard_hydrapaxos_rejected_total',
  invariantViolations: 'switchyard_hydrapaxos_invariant_violations_total',
  crossShardDecisions: 'switchyard_hydratxn_cross_shard_decisions_total',
} as const;

/**
 * Binds a HydraPaxos replica's observer to the metric names of the dashboards' contract
 * (DESIGN.md); `invariantViolated` counts what the member's invariant reporter hears.
 */
export function hydraPaxosMetrics(registry: Registry, hydra: ReceiverObserver): HydraPaxosObserver & { invariantViolated(kind: string): void } {
  const r = [registry];
  const executed = new Counter({ name: HYDRAPAXOS_METRICS.executed, help: 'Log entries executed by this replica.', registers: r });
  const noops = new Counter({ name: HYDRAPAXOS_METRICS.noops, help: 'Slots the leader filled with a NO-OP by gap agreement.', registers: r });
  const viewChanges = zeroed(new Counter({ name: HYDRAPAXOS_METRICS.viewChanges, help: 'View changes this replica took part in, by what started them.', labelNames: ['reason'], registers: r }),
    valuesOf<ViewChangeReason>({ 'leader-silent': true, 'view-change-timeout': true, 'peer-request': true, 'recovered-leader': true }));
  const view = new Gauge({ name: HYDRAPAXOS_METRICS.view, help: 'The replica\'s current view (leader = view mod replicas).', registers: r });
  const transfers = new Counter({ name: HYDRAPAXOS_METRICS.stateTransfers, help: 'States adopted from a peer (boot, restart, lagging).', registers: r });
  const refusals: HydraPaxosRefusal[] = ['bad-request', 'unknown-client', ...WIRE_REASONS.flatMap((w) => [`chunk-${w}` as const, `state-${w}` as const])];
  const rejected = zeroed(new Counter({ name: HYDRAPAXOS_METRICS.rejected, help: 'Requests or protocol messages refused, by reason.', labelNames: ['reason'], registers: r }), refusals);
  const crossShard = new Counter({ name: HYDRAPAXOS_METRICS.crossShardDecisions, help: 'Messages lost by a whole shard, resolved with the other shards: found (executed everywhere) or dropped (aborted everywhere).', labelNames: ['outcome'], registers: r });
  zeroed(crossShard, valuesOf<Parameters<HydraPaxosObserver['crossShardDecided']>[0]>({ found: true, dropped: true }));
  const violations = new Counter({ name: HYDRAPAXOS_METRICS.invariantViolations, help: 'Protocol invariants found broken at this replica (a bug; the member log says where), by kind.', labelNames: ['kind'], registers: r });
  zeroed(violations, HYDRAPAXOS_INVARIANTS);
  view.set(0);
  return {
    executed: () => executed.inc(),
    noopCommitted: () => noops.inc(),
    viewChanged: (v, reason) => {
      viewChanges.labels(reason).inc();
      view.set(v);
    },
    stateTransferred: () => transfers.inc(),
    crossShardDecided: (outcome) => crossShard.labels(outcome).inc(),
    rejected: (reason) => rejected.labels(reason).inc(),
    invariantViolated: (kind) => violations.labels(kind).inc(),
    hydra,
  };
}
