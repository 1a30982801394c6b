import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { zeroed } from '../runtime/metrics.js';

/**
 * The metric names of a BFT baseline's replica that runs the key-value application in views
 * (PBFT, HotStuff, Zyzzyva): `switchyard_<system>_executed_total`, `_batch_size`,
 * `_invalid_total{reason}`, `_view_changes_total{reason}`, `_view`, `_state_transfers_total`.
 */
export function orderingReplicaNames<S extends string>(system: S) {
  return {
    executed: `switchyard_${system}_executed_total`,
    batchSize: `switchyard_${system}_batch_size`,
    invalid: `switchyard_${system}_invalid_total`,
    viewChanges: `switchyard_${system}_view_changes_total`,
    view: `switchyard_${system}_view`,
    stateTransfers: `switchyard_${system}_state_transfers_total`,
  } as const;
}

/** What every such replica's observer reports, whatever else its protocol adds. */
export interface OrderingReplicaObserver<R extends string> {
  executed(requests: number): void;
  batched(size: number): void;
  invalid(reason: string): void;
  viewChanged(view: number, reason: R): void;
  viewStarted(view: number): void;
  stateTransferred(at: number): void;
}

/**
 * Binds those metrics in `registry` (`name` says the protocol in the help texts); view changes
 * start at 0 for every reason in `reasons`, so a dashboard shows a flat line until the first.
 */
export function orderingReplicaMetrics<R extends string>(registry: Registry, names: ReturnType<typeof orderingReplicaNames>, name: string,
  reasons: readonly R[]): OrderingReplicaObserver<R> {
  const registers = [registry];
  const executed = new Counter({ name: names.executed, help: `Requests executed by ${name}.`, registers });
  const batches = new Histogram({ name: names.batchSize, help: `Requests per ${name} batch.`, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], registers });
  const invalid = new Counter({ name: names.invalid, help: `${name} messages refused, by reason.`, labelNames: ['reason'], registers });
  const viewChanges = zeroed(new Counter({ name: names.viewChanges, help: `${name} view changes this replica took part in, by reason (${reasons.join(', ')}).`, labelNames: ['reason'], registers }), reasons);
  const view = new Gauge({ name: names.view, help: `The ${name} view this replica runs (or is changing to).`, registers });
  const transfers = new Counter({ name: names.stateTransfers, help: 'States taken from another replica.', registers });
  return {
    executed: (n) => executed.inc(n),
    batched: (n) => batches.observe(n),
    invalid: (reason) => invalid.labels(reason).inc(),
    viewChanged: (v, reason) => {
      viewChanges.labels(reason).inc();
      view.set(v);
    },
    viewStarted: (v) => view.set(v),
    stateTransferred: () => transfers.inc(),
  };
}
