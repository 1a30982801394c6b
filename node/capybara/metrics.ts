import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { WIRE_REASONS } from '../runtime/core.js';
import { LATENCY_BUCKETS, clientRequestMetrics, valuesOf, zeroed } from '../runtime/metrics.js';
import type { NodeId } from '../runtime/core.js';
import type { ClientObserver, ClientTally } from './client.js';
import type { CapybaraRefusal, MigrationRefusal, MigrationResult, ServerObserver } from './server.js';
import type { RecoveryEvent, SwitchObserver } from './switch.js';
import type { Trigger } from './policy.js';
import { capybaraMemberName } from './topology.js';

/** Capybara's metric names (DESIGN.md: `switchyard_capybara_*`). */
export const CAPYBARA_METRICS = {
  serverRequests: 'switchyard_capybara_server_requests_total',
  switchForwarded: 'switchyard_capybara_switch_forwarded_total',
  switchDropped: 'switchyard_capybara_switch_dropped_total',
  directoryUpdates: 'switchyard_capybara_directory_updates_total',
  directoryRecovery: 'switchyard_capybara_directory_recovery_total',
  served: 'switchyard_capybara_served_requests_total',
  connections: 'switchyard_capybara_connections',
  migrations: 'switchyard_capybara_migrations_total',
  migrationSeconds: 'switchyard_capybara_migration_seconds',
  migrationDecisions: 'switchyard_capybara_migration_decisions_total',
  migrationStateBytes: 'switchyard_capybara_migration_state_bytes',
  rejected: 'switchyard_capybara_rejected_total',
  clientErrors: 'switchyard_capybara_client_errors',
  clientOutstanding: 'switchyard_capybara_client_outstanding',
  clientConnections: 'switchyard_capybara_client_connections',
} as const;

/** Capybara's metrics (DESIGN.md: `switchyard_capybara_*`, `switchyard_client_*`). */
export function capybaraMetrics(registry: Registry) {
  const r = [registry];
  return {
    switch: () => switchMetrics(r),
    server: (id: NodeId) => serverMetrics(r, id),
    client: (read: () => ClientReading) => clientMetrics(registry, read),
  };
}

function switchMetrics(r: Registry[]): SwitchObserver {
  const requests = new Counter({ name: CAPYBARA_METRICS.serverRequests, help: 'Requests the switch forwarded to each server.', labelNames: ['server'], registers: r });
  const forwarded = new Counter({ name: CAPYBARA_METRICS.switchForwarded, help: 'TCP segments the switch rewrote and forwarded, by direction.', labelNames: ['direction'], registers: r });
  const dropped = zeroed(new Counter({ name: CAPYBARA_METRICS.switchDropped, help: 'Packets the switch could not place, by reason.', labelNames: ['reason'], registers: r }),
    valuesOf<Parameters<SwitchObserver['dropped']>[0]>({ 'no-entry': true, 'not-vip': true, 'unknown-server': true, 'unknown-client': true }));
  const moves = zeroed(new Counter({ name: CAPYBARA_METRICS.directoryUpdates, help: 'Migration-directory owner changes, by cause.', labelNames: ['cause'], registers: r }),
    valuesOf<Parameters<SwitchObserver['ownerChanged']>[3]>({ migrated: true, 'rolled-back': true, recovered: true }));
  const recovery = zeroed(new Counter({ name: CAPYBARA_METRICS.directoryRecovery, help: 'Migration-directory recovery after a switch restart: WHO_HAS asked, entries restored from OWN claims, claims confirming a live entry, stale claims ignored.', labelNames: ['reason'], registers: r }),
    valuesOf<RecoveryEvent>({ asked: true, restored: true, confirmed: true, 'conflicting-claim': true }));
  // Both are counted per packet: resolve the label children once, not on every call.
  const byDirection = { 'to-server': forwarded.labels('to-server'), 'to-client': forwarded.labels('to-client') };
  const perServer = new Map<NodeId, ReturnType<typeof requests.labels>>();
  const serverCounter = (server: NodeId) => {
    let c = perServer.get(server);
    if (!c) perServer.set(server, (c = requests.labels(capybaraMemberName(server))));
    return c;
  };
  return {
    forwarded: (direction) => byDirection[direction].inc(),
    requests: (server, n) => serverCounter(server).inc(n),
    dropped: (reason) => dropped.labels(reason).inc(),
    ownerChanged: (_client, _from, _to, why) => moves.labels(why).inc(),
    recovery: (event) => recovery.labels(event).inc(),
  };
}

function serverMetrics(r: Registry[], id: NodeId): ServerObserver {
  const name = capybaraMemberName(id);
  const served = new Counter({ name: CAPYBARA_METRICS.served, help: 'Requests this server executed.', labelNames: ['server'], registers: r }).labels(name);
  const connections = new Gauge({ name: CAPYBARA_METRICS.connections, help: 'Open connections at this server.', labelNames: ['server'], registers: r }).labels(name);
  const migrations = zeroed(new Counter({ name: CAPYBARA_METRICS.migrations, help: 'Migrations this server started as origin, by result.', labelNames: ['result'], registers: r }),
    valuesOf<MigrationResult>({ completed: true, rejected: true, returned: true, abandoned: true, reconnect: true, lost: true }));
  const decided = zeroed(new Counter({ name: CAPYBARA_METRICS.migrationDecisions, help: 'Connections the policy chose to move (under reconnect: to reset), by the half that chose them: rate or queue length.', labelNames: ['trigger'], registers: r }),
    valuesOf<Trigger>({ rate: true, queue: true }));
  const seconds = new Histogram({ name: CAPYBARA_METRICS.migrationSeconds, help: 'Migration phases (prepare, serialize, transfer, blackout, total).', labelNames: ['phase'], buckets: LATENCY_BUCKETS, registers: r });
  const stateBytes = new Histogram({ name: CAPYBARA_METRICS.migrationStateBytes, help: 'Bytes of a migrated connection state (TCP and application).', buckets: [0, 256, 1024, 4096, 16_384, 65_536, 131_072, 262_144, 1_048_576], registers: r });
  const refusals: CapybaraRefusal[] = [...WIRE_REASONS, 'buffer-full', 'stray-segment', 'unexpected-state', 'migration-expired', 'dead-peer', ...valuesOf<MigrationRefusal>({
    'unknown-client': true, 'unknown-origin': true, 'not-target': true, 'unknown-target': true, 'state-mismatch': true,
  })];
  const rejected = zeroed(new Counter({ name: CAPYBARA_METRICS.rejected, help: 'Migration messages refused, by reason.', labelNames: ['reason'], registers: r }), refusals);
  return {
    requests: (n) => served.inc(n),
    connections: (n) => connections.set(n),
    migration: (result, phases, bytes) => {
      migrations.labels(result).inc();
      if (result === 'completed') stateBytes.observe(bytes);
      for (const [phase, s] of Object.entries(phases ?? {})) seconds.labels(phase).observe(s);
    },
    decided: (trigger, n) => decided.labels(trigger).inc(n),
    rejected: (reason) => rejected.labels(reason).inc(),
  };
}

/** What a client reports when scraped. */
interface ClientReading { tally: ClientTally; outstanding: number; open: number }

/** Latency as requests complete; integrity counts read from the client when scraped. */
function clientMetrics(registry: Registry, read: () => ClientReading): ClientObserver {
  const r = [registry];
  const { latency, result } = clientRequestMetrics(registry, 'capybara');
  new Gauge({
    name: CAPYBARA_METRICS.clientErrors, help: 'Replies proving a request ran twice, wrong replies, resets seen, timeouts, reconnects, requests cut off by a reset or timeout (sent again; the old server may have run them), server-side sessions lost with a connection and rebuilt by the client.', labelNames: ['kind'], registers: r,
    collect() {
      const t = read().tally;
      this.labels('duplicated').set(t.duplicated);
      this.labels('mismatched').set(t.mismatched);
      this.labels('reset').set(t.resets);
      this.labels('timeout').set(t.timeouts);
      this.labels('reconnect').set(t.reconnects);
      this.labels('cut').set(t.cut);
      this.labels('session-rebuilt').set(t.sessionsRebuilt);
    },
  });
  new Gauge({
    name: CAPYBARA_METRICS.clientOutstanding, help: 'Requests sent and not answered yet (after a drain: lost).', registers: r,
    collect() { this.set(read().outstanding); },
  });
  new Gauge({
    name: CAPYBARA_METRICS.clientConnections, help: 'Open client connections.', registers: r,
    collect() { this.set(read().open); },
  });
  const ok = result('ok');
  const wrong = result('wrong');
  return {
    completed: (us, right) => {
      latency.observe(us / 1e6);
      (right ? ok : wrong).inc();
    },
  };
}
