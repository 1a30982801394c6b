import type { Registry } from 'prom-client';
import { clientRequestMetrics } from '../runtime/metrics.js';
import type { Operation } from '../check/linearizability.js';
import type { KvClientObserver } from './kv-client.js';

/** A key-value client's latency and results (`switchyard_client_*`, DESIGN.md), labelled by the system it runs on. */
export function kvClientMetrics<I, O>(registry: Registry, system: string): KvClientObserver<I, O> {
  const { latency, result } = clientRequestMetrics(registry, system);
  const committed = result('committed');
  const retried = result('retried');
  // Both results a dashboard plots start at 0 (see zeroed()).
  committed.inc(0);
  retried.inc(0);
  return {
    completed: (_op, us) => {
      latency.observe(us / 1e6);
      committed.inc();
    },
    retried: () => retried.inc(),
    rejectedReply: (reason) => result(`reply-${reason}`).inc(),
  };
}

/** A client observer (with whatever its protocol adds) that also keeps the history the runner checks. */
export function recordingHistory<I, O, T extends KvClientObserver<I, O> = KvClientObserver<I, O>>(observe: T) {
  const history: Operation<I, O>[] = [];
  const observer: T = {
    ...observe,
    completed: (op: Operation<I, O>, us: number) => {
      history.push(op);
      observe.completed(op, us);
    },
  };
  return { history, observer };
}

