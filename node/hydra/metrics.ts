import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CLIENT_METRICS, LATENCY_BUCKETS, valuesOf, zeroed } from '../runtime/metrics.js';
import type { AggregatorObserver } from './aggregator.js';
import type { ClientObserver } from './client.js';
import type { ConfigServiceObserver } from './config-service.js';
import type { ReceiverObserver, ReceiverRejection } from './receiver.js';
import type { SequencerObserver } from './sequencer.js';
import type { VrInvariant, VrNormalBy, VrRefusal } from '../vr/replica.js';

/** Hydra's metric names (DESIGN.md: `switchyard_hydra_*`). */
export const HYDRA_METRICS = {
  configuration: 'switchyard_hydra_configuration',
  rejected: 'switchyard_hydra_rejected_total',
  flushes: 'switchyard_hydra_flushes_total',
  stamped: 'switchyard_hydra_stamped_total',
  sequencerActive: 'switchyard_hydra_sequencer_active',
  delivered: 'switchyard_hydra_delivered_total',
  dropNotifications: 'switchyard_hydra_drop_notifications_total',
  deliveryDelay: 'switchyard_hydra_delivery_delay_seconds',
  endToEnd: 'switchyard_hydra_end_to_end_seconds',
  flushSolicitations: 'switchyard_hydra_flush_solicitations_total',
  suspicions: 'switchyard_hydra_suspicions_total',
  pending: 'switchyard_hydra_pending_messages',
  orderViolations: 'switchyard_hydra_order_violations_total',
  reconfigurations: 'switchyard_hydra_reconfigurations_total',
  activeSequencers: 'switchyard_hydra_active_sequencers',
  configView: 'switchyard_hydra_config_view',
  configPrimary: 'switchyard_hydra_config_primary',
  configCommit: 'switchyard_hydra_config_commit',
  configNormal: 'switchyard_hydra_config_normal_total',
  configStateTransfers: 'switchyard_hydra_config_state_transfers_total',
  configInvariantViolations: 'switchyard_hydra_config_invariant_violations_total',
  routed: 'switchyard_hydra_routed_total',
} as const;

/** What the roles' metrics share: the installed configuration, the refusals, and the flushes (made by the first role that counts them). */
interface Shared {
  r: Registry[];
  configuration: Gauge;
  rejected: Counter;
  flushes: () => Counter;
}

/** Binds each Hydra role's observer to the metric names of the dashboards' contract (DESIGN.md). */
export function hydraMetrics(registry: Registry, wallNow: () => number) {
  const r = [registry];
  const configuration = new Gauge({ name: HYDRA_METRICS.configuration, help: 'Configuration number this member has installed.', registers: r });
  configuration.set(1);
  const rejected = new Counter({
    name: HYDRA_METRICS.rejected, help: 'Hydra messages refused by a member, by reason.', labelNames: ['reason'], registers: r,
  });

  // Sequencers send flushes and the aggregator forwards them: one metric, told apart by `kind`.
  let flushCounter: Counter | undefined;
  const flushes = () =>
    (flushCounter ??= new Counter({ name: HYDRA_METRICS.flushes, help: 'Flushes sent or forwarded, by kind.', labelNames: ['kind'], registers: r }));
  const shared: Shared = { r, configuration, rejected, flushes };

  return {
    sequencer: (id: number) => sequencerMetrics(shared, id),
    receiver: () => receiverMetrics(shared, wallNow),
    aggregator: () => aggregatorMetrics(shared),
    configService: (initialActive: number) => configServiceMetrics(shared, initialActive),
    client: () => clientMetrics(r),
    configuration,
  };
}

function sequencerMetrics({ r, configuration, rejected, flushes }: Shared, id: number): SequencerObserver {
  const stamped = new Counter({ name: HYDRA_METRICS.stamped, help: 'Messages stamped.', labelNames: ['sequencer'], registers: r });
  const active = new Gauge({ name: HYDRA_METRICS.sequencerActive, help: '1 while this sequencer may stamp.', registers: r });
  const flushed = zeroed(flushes(), ['periodic', 'solicited']);
  zeroed(rejected, valuesOf<Parameters<SequencerObserver['rejected']>[0]>({ inactive: true, 'bad-groups': true, paused: true }));
  const stampedChild = stamped.labels(String(id));
  return {
    stamped: () => stampedChild.inc(),
    flushed: (kind) => flushed.labels(kind).inc(),
    rejected: (reason) => rejected.labels(reason).inc(),
    configured: (config, isActive) => {
      configuration.set(config);
      active.set(isActive ? 1 : 0);
    },
  };
}

function receiverMetrics({ r, configuration, rejected }: Shared, wallNow: () => number): ReceiverObserver {
  const delivered = new Counter({ name: HYDRA_METRICS.delivered, help: 'Messages delivered in order.', registers: r });
  const drops = new Counter({ name: HYDRA_METRICS.dropNotifications, help: 'DROP-NOTIFICATIONs delivered.', registers: r });
  const delay = new Histogram({
    name: HYDRA_METRICS.deliveryDelay, help: 'Arrival at the receiver to in-order delivery.', buckets: LATENCY_BUCKETS, registers: r,
  });
  const endToEnd = new Histogram({
    name: HYDRA_METRICS.endToEnd, help: 'Sender send to in-order delivery (clocks of one machine or NTP-synced).',
    buckets: LATENCY_BUCKETS, registers: r,
  });
  const solicitations = new Counter({ name: HYDRA_METRICS.flushSolicitations, help: 'Flush solicitations sent.', registers: r });
  const suspicions = new Counter({ name: HYDRA_METRICS.suspicions, help: 'Sequencers reported as silent.', registers: r });
  const pending = new Gauge({ name: HYDRA_METRICS.pending, help: 'Messages buffered awaiting the frontier.', registers: r });
  const violations = new Counter({
    name: HYDRA_METRICS.orderViolations,
    help: 'Messages delivered out of (clock, sequencer) order: an online self-check, always 0 when Hydra is correct.',
    registers: r,
  });
  violations.inc(0);
  zeroed(rejected, valuesOf<ReceiverRejection>({
    'unknown-sequencer': true, 'stale-incarnation': true, 'removed-sequencer': true, 'not-addressed': true, duplicate: true, late: true, 'beyond-final': true,
    'beyond-window': true,
  }));
  return {
    delivered: deliveries({ delivered, drops, delay, endToEnd, violations }, wallNow),
    rejected: (reason) => rejected.labels(reason).inc(),
    solicited: () => solicitations.inc(),
    suspected: () => suspicions.inc(),
    configured: (config) => configuration.set(config),
    pending: (n) => pending.set(n),
  };
}

/** Counts and times each delivery, and checks online that deliveries come in (clock, sequencer) order. */
function deliveries(
  m: { delivered: Counter; drops: Counter; delay: Histogram; endToEnd: Histogram; violations: Counter }, wallNow: () => number,
): ReceiverObserver['delivered'] {
  let lastClock = -1;
  let lastSequencer = -1;
  return (d, now) => {
    if (d.kind === 'drop') {
      m.drops.inc();
      return;
    }
    const msg = d.msg;
    if (msg.clock < lastClock || (msg.clock === lastClock && msg.sequencer <= lastSequencer)) m.violations.inc();
    lastClock = msg.clock;
    lastSequencer = msg.sequencer;
    m.delivered.inc();
    m.delay.observe(Math.max(0, now - d.arrivedAt) / 1e6);
    m.endToEnd.observe(Math.max(0, wallNow() - d.msg.sentAt) / 1e6);
  };
}

function aggregatorMetrics({ flushes }: Shared): AggregatorObserver {
  const flushed = zeroed(flushes(), ['aggregated', 'absorbed']);
  return {
    forwarded: () => flushed.labels('aggregated').inc(),
    absorbed: () => flushed.labels('absorbed').inc(),
  };
}

function configServiceMetrics(shared: Shared, initialActive: number): ConfigServiceObserver {
  const { r, configuration } = shared;
  const changes = zeroed(new Counter({
    name: HYDRA_METRICS.reconfigurations, help: 'Configuration changes, by kind.', labelNames: ['kind'], registers: r,
  }), valuesOf<Parameters<ConfigServiceObserver['reconfigured']>[0]>({ add: true, remove: true, abort: true }));
  const active = new Gauge({ name: HYDRA_METRICS.activeSequencers, help: 'Sequencers in the current configuration.', registers: r });
  active.set(initialActive);
  const installed = (config: number, count: number) => {
    configuration.set(config);
    active.set(count);
  };
  return {
    reconfigured: (kind, _sequencer, config, count) => {
      changes.labels(kind).inc();
      installed(config, count);
    },
    replication: replicationMetrics(shared, installed),
  };
}

/** The configuration service's own replicas (Viewstamped Replication): view, commit, and how each became normal. */
function replicationMetrics({ r, rejected }: Shared, installed: (config: number, count: number) => void): ConfigServiceObserver['replication'] {
  const view = new Gauge({ name: HYDRA_METRICS.configView, help: 'View of this configuration-service replica.', registers: r });
  const primary = new Gauge({ name: HYDRA_METRICS.configPrimary, help: '1 while this configuration-service replica is the primary of a view.', registers: r });
  const commit = new Gauge({ name: HYDRA_METRICS.configCommit, help: 'Ops of the configuration service\'s log committed here.', registers: r });
  const normal = zeroed(new Counter({
    name: HYDRA_METRICS.configNormal, help: 'Times this configuration replica became normal, by how (view-change, recovery, first-start, state-transfer).',
    labelNames: ['how'], registers: r,
  }), valuesOf<VrNormalBy>({ 'view-change': true, recovery: true, 'first-start': true, 'state-transfer': true }));
  const transfers = new Counter({ name: HYDRA_METRICS.configStateTransfers, help: 'Snapshots of the configuration service\'s state taken from another replica.', registers: r });
  const violations = zeroed(new Counter({
    name: HYDRA_METRICS.configInvariantViolations, help: 'Replication invariants found broken, by kind.', labelNames: ['kind'], registers: r,
  }), valuesOf<VrInvariant>({ 'ack-beyond-log': true, 'view-change-log': true, 'log-behind-commit': true, 'view-regressed': true }));
  zeroed(rejected, valuesOf<VrRefusal>({ 'unknown-replica': true }));
  return {
    applied: (op, _command, state) => {
      commit.set(op);
      installed(state.config.config, state.config.active.length);
    },
    adopted: (op, state) => {
      transfers.inc();
      commit.set(op);
      installed(state.config.config, state.config.active.length);
    },
    normal: (v, isPrimary, how) => {
      view.set(v);
      primary.set(isPrimary ? 1 : 0);
      normal.labels(how).inc();
    },
    changingView: (v) => {
      view.set(v);
      primary.set(0);
    },
    invariantViolated: (kind) => violations.labels(kind).inc(),
    rejected: (reason) => rejected.labels(reason).inc(),
  };
}

function clientMetrics(r: Registry[]): ClientObserver {
  const requests = new Counter({
    name: CLIENT_METRICS.requests, help: 'Client requests, by system and result.', labelNames: ['system', 'result'], registers: r,
  });
  const routed = new Counter({ name: HYDRA_METRICS.routed, help: 'Messages sent, by chosen sequencer.', labelNames: ['sequencer'], registers: r });
  const sent = requests.labels('hydra', 'sent');
  return {
    sent: (_m, sequencer) => {
      sent.inc();
      routed.labels(String(sequencer)).inc();
    },
  };
}
