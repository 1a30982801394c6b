import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from '../../node/runtime/metrics.js';

export function operatorMetrics(registry: Registry) {
  const r = [registry];
  return {
    reconciles: new Counter({ name: 'switchyard_operator_reconcile_total', help: 'Reconciles, by kind and result.', labelNames: ['kind', 'result'], registers: r }),
    seconds: new Histogram({ name: 'switchyard_operator_reconcile_seconds', help: 'Time per reconcile.', labelNames: ['kind'], buckets: LATENCY_BUCKETS, registers: r }),
    leader: new Gauge({ name: 'switchyard_operator_leader', help: '1 while this replica holds the leader lease.', registers: r }),
    memberReads: new Counter({
      name: 'switchyard_operator_member_reads_total', help: 'Reads of testbed members\' /metrics, by result (ok, unreachable, malformed).', labelNames: ['result'], registers: r,
    }),
    queue: new Gauge({ name: 'switchyard_operator_queue_depth', help: 'Keys waiting in the work queue.', registers: r }),
  };
}
