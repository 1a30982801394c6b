import { Counter, Histogram, type Registry } from 'prom-client';
import { CLIENT_METRICS, LATENCY_BUCKETS } from '../runtime/metrics.js';
import type { Operation } from '../check/linearizability.js';
import type { KvClientObserver } from './kv-client.js';

/** A key-value client's latency and results (`switchyard_client_*`, DESIGN.md), labelled by the system it runs on. */
export function kvClientMetrics<I, O>(registry: Registry, system: string): KvClientObserver<I, O> {
  const r = [registry];
  const seconds = new Histogram({ name: CLIENT_METRICS.requestSeconds, help: 'Client request latency, by system.', labelNames: ['system'], buckets: LATENCY_BUCKETS, registers: r });
  const requests = new Counter({ name: CLIENT_METRICS.requests, help: 'Client requests, by system and result.', labelNames: ['system', 'result'], registers: r });
  const latency = seconds.labels(system);
  // Both results a dashboard plots start at 0 (see zeroed()).
  for (const result of ['committed', 'retried']) requests.labels(system, result).inc(0);
  return {
    completed: (_op, us) => {
      latency.observe(us / 1e6);
      requests.labels(system, 'committed').inc();
    },
    retried: () => requests.labels(system, 'retried').inc(),
    rejectedReply: (reason) => requests.labels(system, `reply-${reason}`).inc(),
  };
}

/** A client observer that also keeps the history the runner checks. */
export function recordingHistory<I, O>(observe: KvClientObserver<I, O>) {
  const history: Operation<I, O>[] = [];
  return {
    history,
    observer: {
      ...observe,
      completed: (op: Operation<I, O>, us: number) => {
        history.push(op);
        observe.completed(op, us);
      },
    },
  };
}

