import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { WIRE_REASONS } from './core.js';

/** What every system's clients export, one histogram observation per completed operation (DESIGN.md: `switchyard_client_*`). */
export const CLIENT_METRICS = {
  requestSeconds: 'switchyard_client_request_seconds',
  requests: 'switchyard_client_requests_total',
} as const;

/** Datagram counters every member exports (DESIGN.md). */
export const TRANSPORT_METRICS = {
  rx: 'switchyard_rx_datagrams_total',
  tx: 'switchyard_tx_datagrams_total',
  rejected: 'switchyard_rx_rejected_total',
  dropped: 'switchyard_tx_dropped_total',
} as const;

/** prom-client's default process CPU counter (collectDefaultMetrics), which every member registers. */
export const PROCESS_CPU_SECONDS = 'process_cpu_seconds_total';

/**
 * Latency buckets from 1 µs to 10 s (1-2-5 steps), shared by every latency histogram. Up to 10 s:
 * an overloaded server's queue (LWRR's hottest under the paper's Fig. 7 skew) keeps its clients
 * waiting seconds, and a top bucket at 1 s reported them all as "1 s or more".
 */
export const LATENCY_BUCKETS = [1, 2, 5]
  .flatMap((m) => [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1].map((d) => Number((m * d).toPrecision(1))))
  .concat([10])
  .sort((a, b) => a - b);

/**
 * The client metrics every system's clients export (`switchyard_client_*`): latency in seconds,
 * and requests by result, both labelled by the system the client runs on.
 */
export function clientRequestMetrics(registry: Registry, system: string) {
  const r = [registry];
  const seconds = new Histogram({ name: CLIENT_METRICS.requestSeconds, help: 'Client request latency, by system.', labelNames: ['system'], buckets: LATENCY_BUCKETS, registers: r });
  const requests = new Counter({ name: CLIENT_METRICS.requests, help: 'Client requests, by system and result.', labelNames: ['system', 'result'], registers: r });
  return { latency: seconds.labels(system), result: (result: string) => requests.labels(system, result) };
}

/** Every value of a string union, checked complete by the compiler: `valuesOf<'a' | 'b'>({ a: true, b: true })`. */
export const valuesOf = <T extends string>(all: Record<T, true>): T[] => Object.keys(all) as T[];

/**
 * Starts a counter's series at 0 for each label value known in advance, so that a dashboard
 * panel shows a flat zero until the first event instead of no data (the Prometheus
 * instrumentation guide's "Avoid missing metrics"). For counters with one label.
 */
export function zeroed<C extends Counter<string>>(counter: C, values: readonly string[]): C {
  for (const value of values) counter.labels(value).inc(0);
  return counter;
}

/** Each process has its own Registry (no global state), with the standard process metrics. */
export function newRegistry(labels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Datagram counters every member exports, bound to the driver's observer. */
export function transportMetrics(registry: Registry) {
  const rx = new Counter({ name: TRANSPORT_METRICS.rx, help: 'Datagrams received.', registers: [registry] });
  const tx = new Counter({ name: TRANSPORT_METRICS.tx, help: 'Datagrams sent (one per destination).', registers: [registry] });
  const rejected = zeroed(new Counter({
    name: TRANSPORT_METRICS.rejected,
    help: 'Datagrams that could not be decoded, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  }), WIRE_REASONS);
  const dropped = new Counter({
    name: TRANSPORT_METRICS.dropped,
    help: 'Datagrams not sent, by reason: unresolved (the destination member has no address yet), unknown-destination (no member has that id).',
    labelNames: ['reason'],
    registers: [registry],
  });
  return { rx, tx, rejected, dropped };
}
