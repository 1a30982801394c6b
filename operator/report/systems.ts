import type { Plan } from '../plan/types.js';
import type { Snapshot } from './scrape.js';

/** What `switchyard up` and `switchyard status` show for one system: a live progress line and the summary. */
export interface SystemReport {
  progress(now: Snapshot, prev: Snapshot): string;
  /** What the clients have got done so far (a counter): a window in which it does not grow saw no progress. */
  work(s: Snapshot): number;
  /** One point of the run's timeline (`timeline` in `--json`), taken with each progress line. */
  sample?(now: Snapshot, prev: Snapshot): Record<string, unknown>;
  /**
   * Rows for the summary table and the system's own fields for `--json`; `drained` is the scrape
   * after the load finished (the plan's drain), for what only the end can tell, or null while the
   * load still runs (`switchyard status` on a live testbed). `problems` fail the run.
   */
  summary(final: Snapshot, base: Snapshot, seconds: number, drained: Snapshot | null): { rows: [string, string][]; json: Record<string, unknown>; problems?: string[] };
}

export const fmtSeconds = (s: number | null) =>
  s === null ? '—' : s < 1e-3 ? `${(s * 1e6).toFixed(0)}µs` : s < 1 ? `${(s * 1e3).toFixed(2)}ms` : `${s.toFixed(2)}s`;

export const fmtCount = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));

const rate = (now: Snapshot, prev: Snapshot, name: string) => {
  const dt = (now.at - prev.at) / 1000;
  return dt > 0 ? (now.sum(name) - prev.sum(name)) / dt : 0;
};

/** Operations the clients completed (every system's clients observe this histogram once per operation). */
const clientOperations = (s: Snapshot) => s.histogram('switchyard_client_request_seconds').count;

export const hydraReport: SystemReport = {
  // Hydra's senders are open-loop: their progress is what the receivers deliver.
  work: (s) => s.sum('switchyard_hydra_delivered_total'),

  progress(now, prev) {
    const delay = now.histogram('switchyard_hydra_delivery_delay_seconds').since(prev.histogram('switchyard_hydra_delivery_delay_seconds'));
    return [
      `ordered ${fmtCount(rate(now, prev, 'switchyard_hydra_stamped_total'))}/s`,
      `delay p50 ${fmtSeconds(delay.quantile(0.5))} p99 ${fmtSeconds(delay.quantile(0.99))}`,
      `drops ${fmtCount(now.sum('switchyard_hydra_drop_notifications_total'))}`,
      `flushes ${fmtCount(now.sum('switchyard_hydra_flushes_total', { kind: 'periodic' }) + now.sum('switchyard_hydra_flushes_total', { kind: 'solicited' }))}`,
      `config ${now.max('switchyard_hydra_configuration', 'config')}`,
    ].join(' · ');
  },

  summary(final, base, seconds) {
    const delay = final.histogram('switchyard_hydra_delivery_delay_seconds').since(base.histogram('switchyard_hydra_delivery_delay_seconds'));
    const e2e = final.histogram('switchyard_hydra_end_to_end_seconds').since(base.histogram('switchyard_hydra_end_to_end_seconds'));
    const stamped = final.sum('switchyard_hydra_stamped_total') - base.sum('switchyard_hydra_stamped_total');
    const delivered = final.sum('switchyard_hydra_delivered_total');
    const drops = final.sum('switchyard_hydra_drop_notifications_total');
    const flushes = Object.fromEntries(final.byLabel('switchyard_hydra_flushes_total', 'kind'));
    const rejected = Object.fromEntries(final.byLabel('switchyard_hydra_rejected_total', 'reason'));
    const perSequencer = Object.fromEntries(final.byLabel('switchyard_hydra_stamped_total', 'sequencer'));
    const configuration = final.max('switchyard_hydra_configuration', 'config');
    const activeSequencers = final.max('switchyard_hydra_active_sequencers', 'config') || final.sum('switchyard_hydra_sequencer_active');
    const opsPerS = seconds > 0 ? stamped / seconds : 0;
    const p = (h: typeof delay) => ({ p50: h.quantile(0.5), p99: h.quantile(0.99) });
    return {
      rows: [
        ['messages ordered', `${fmtCount(final.sum('switchyard_hydra_stamped_total'))} (${fmtCount(opsPerS)}/s)`],
        ['per sequencer', Object.entries(perSequencer).map(([k, v]) => `#${k} ${fmtCount(v)}`).join(', ') || '—'],
        ['deliveries', fmtCount(delivered)],
        ['ordering delay', `p50 ${fmtSeconds(delay.quantile(0.5))}  p99 ${fmtSeconds(delay.quantile(0.99))}`],
        ['send → delivery', `p50 ${fmtSeconds(e2e.quantile(0.5))}  p99 ${fmtSeconds(e2e.quantile(0.99))}`],
        ['drop notifications', fmtCount(drops)],
        ['flushes', Object.entries(flushes).map(([k, v]) => `${k} ${fmtCount(v)}`).join(', ') || '—'],
        ['configuration', `${configuration} (${activeSequencers} active sequencers)`],
        ['order self-check', `${final.sum('switchyard_hydra_order_violations_total')} violations`],
        ['rejected', Object.entries(rejected).map(([k, v]) => `${k} ${fmtCount(v)}`).join(', ') || 'none'],
      ],
      json: {
        ops_per_s: opsPerS,
        latency_s: p(delay),
        end_to_end_s: p(e2e),
        stamped: final.sum('switchyard_hydra_stamped_total'),
        stamped_per_sequencer: perSequencer,
        delivered,
        drop_notifications: drops,
        flushes,
        configuration,
        active_sequencers: activeSequencers,
        rejected,
        order_violations: final.sum('switchyard_hydra_order_violations_total'),
      },
    };
  },
};

export const bftReport: SystemReport = {
  work: clientOperations,

  progress(now, prev) {
    const latency = now.histogram('switchyard_client_request_seconds').since(prev.histogram('switchyard_client_request_seconds'));
    const dt = (now.at - prev.at) / 1000;
    const committed = dt > 0 ? latency.count / dt : 0;
    return [
      `committed ${fmtCount(committed)}/s`,
    `latency p50 ${fmtSeconds(latency.quantile(0.5))} p99 ${fmtSeconds(latency.quantile(0.99))}`,
      ...(now.has('switchyard_pbft_view')
        ? [`stable checkpoint ${now.max('switchyard_pbft_stable_checkpoint', 'replica')}`]
        : [`authenticated ${fmtCount(rate(now, prev, 'switchyard_aom_authenticated_total'))}/s`, `gap agreements ${fmtCount(now.sum('switchyard_neobft_gap_agreements_total'))}`]),
      bftView(now).text,
    ].join(' · ');
  },

  summary(final, base, seconds) {
    const latency = final.histogram('switchyard_client_request_seconds').since(base.histogram('switchyard_client_request_seconds'));
    const rejected = Object.fromEntries(final.byLabel('switchyard_aom_rejected_total', 'reason'));
    // What replicas refused above AOM: forged client requests, bad votes, bad VIEW-CHANGEs, garbage.
    const refused = Object.fromEntries([...final.byLabel('switchyard_neobft_invalid_total', 'reason'), ...final.byLabel('switchyard_pbft_invalid_total', 'reason')]);
    const gaps = final.sum('switchyard_neobft_gap_agreements_total');
    const authenticated = final.sum('switchyard_aom_authenticated_total') - base.sum('switchyard_aom_authenticated_total');
    const opsPerS = seconds > 0 ? latency.count / seconds : 0;
    const { epoch, view, text, viewChanges } = bftView(final);
    const cpu = cpuPerOp(final, base, latency.count, 'replica');
    return {
      rows: [
        ['committed operations', `${fmtCount(latency.count)} (${fmtCount(opsPerS)}/s)`],
        ['client latency', `p50 ${fmtSeconds(latency.quantile(0.5))}  p99 ${fmtSeconds(latency.quantile(0.99))}`],
        ['authenticated', `${fmtCount(authenticated)} (${fmtCount(seconds > 0 ? authenticated / seconds : 0)}/s)`],
        ['gap agreements', `${fmtCount(gaps)} (${fmtCount(final.sum('switchyard_neobft_gap_agreements_total', { outcome: 'no-op' }))} no-ops)`],
        ['view', text.replace(/^view /, '')],
        ['view changes started', Object.entries(viewChanges).map(([k, v]) => `${k} ${fmtCount(v)}`).join(', ') || 'none'],
        ['rejected by AOM', Object.entries(rejected).map(([k, v]) => `${k} ${fmtCount(v)}`).join(', ') || 'none'],
        ['refused by replicas', Object.entries(refused).map(([k, v]) => `${k} ${fmtCount(v)}`).join(', ') || 'none'],
        cpuRow(cpu),
      ],
      json: {
        ops_per_s: opsPerS,
        latency_s: { p50: latency.quantile(0.5), p99: latency.quantile(0.99) },
        authenticated,
        gap_agreements: gaps,
        view,
        epoch,
        view_changes: viewChanges,
        rejected,
        refused,
        cpu_s_per_op: cpu,
      },
    };
  },
};

/**
 * CPU time each role spent per committed operation over the run (process_cpu_seconds_total of
 * every member, summed per role: `replicas`, `clients`, `sequencers`, …); `busiest_replica` is the
 * busiest member of `replicaRole` — what bounds throughput when every replica has a machine of its
 * own, as in the papers — while the sums show where one shared machine's cores went.
 */
function cpuPerOp(final: Snapshot, base: Snapshot, ops: number, replicaRole: string): Record<string, number> {
  if (ops === 0) return {};
  const before = base.perMember('process_cpu_seconds_total');
  const spent = new Map<string, number[]>();
  for (const [member, seconds] of final.perMember('process_cpu_seconds_total')) {
    const role = member.split('-')[0]!;
    spent.set(role, [...(spent.get(role) ?? []), (seconds - (before.get(member) ?? seconds)) / ops]);
  }
  const out: Record<string, number> = {};
  const replicas = spent.get(replicaRole);
  if (replicas) out.busiest_replica = Math.max(...replicas);
  for (const [role, each] of spent) out[`${role}s`] = each.reduce((a, b) => a + b, 0);
  return out;
}

/** The summary row for `cpuPerOp`'s result. */
const cpuRow = (cpu: Record<string, number>): [string, string] =>
  ['CPU per committed op', Object.entries(cpu).map(([k, v]) => `${k.replace(/_/g, ' ')} ${fmtSeconds(v)}`).join(' · ') || '—'];

/**
 * A BFTCluster's view as its replicas report it: NeoBFT's ⟨epoch, leader⟩ (JSON `view` is the
 * leader number), or PBFT's view number (no epochs: `epoch` 0). View changes by reason, either way.
 */
function bftView(s: Snapshot): { epoch: number; view: number; text: string; viewChanges: Record<string, number> } {
  if (s.has('switchyard_pbft_view')) {
    const view = s.max('switchyard_pbft_view', 'replica');
    return { epoch: 0, view, text: `view ${view}`, viewChanges: Object.fromEntries(s.byLabel('switchyard_pbft_view_changes_total', 'reason')) };
  }
  const epoch = s.max('switchyard_neobft_epoch', 'replica');
  const view = s.max('switchyard_neobft_leader', 'replica');
  return { epoch, view, text: `view ⟨${epoch}, ${view}⟩`, viewChanges: Object.fromEntries(s.byLabel('switchyard_neobft_view_changes_total', 'reason')) };
}

/** The live line of a replicated application on Hydra; `committed` names what its clients commit. */
function hydraAppProgress(now: Snapshot, prev: Snapshot, committed: string): string {
  const latency = now.histogram('switchyard_client_request_seconds').since(prev.histogram('switchyard_client_request_seconds'));
  const dt = (now.at - prev.at) / 1000;
  return [
    `${committed} ${fmtCount(dt > 0 ? latency.count / dt : 0)}/s`,
    `latency p50 ${fmtSeconds(latency.quantile(0.5))} p99 ${fmtSeconds(latency.quantile(0.99))}`,
    `no-ops ${fmtCount(now.sum('switchyard_hydrapaxos_noops_total'))}`,
    `view ${now.max('switchyard_hydrapaxos_view', 'receiver')}`,
    `config ${now.max('switchyard_hydra_configuration', 'config')}`,
  ].join(' · ');
}

/** HydraPaxos on Hydra: the application's commits and recovery events, then Hydra's own rows. */
export const hydraPaxosReport: SystemReport = {
  work: clientOperations,

  progress: (now, prev) => hydraAppProgress(now, prev, 'committed'),

  summary(final, base, seconds, drained) {
    const latency = final.histogram('switchyard_client_request_seconds').since(base.histogram('switchyard_client_request_seconds'));
    const opsPerS = seconds > 0 ? latency.count / seconds : 0;
    const viewChanges = Object.fromEntries(final.byLabel('switchyard_hydrapaxos_view_changes_total', 'reason'));
    const noops = final.sum('switchyard_hydrapaxos_noops_total');
    const transfers = final.sum('switchyard_hydrapaxos_state_transfers_total');
    const retried = final.sum('switchyard_client_requests_total', { result: 'retried' });
    const violations = Object.fromEntries(final.byLabel('switchyard_hydrapaxos_invariant_violations_total', 'kind'));
    const hydra = hydraReport.summary(final, base, seconds, drained);
    const cpu = cpuPerOp(final, base, latency.count, 'receiver');
    return {
      rows: [
        ['committed operations', `${fmtCount(latency.count)} (${fmtCount(opsPerS)}/s)`],
        ['client latency', `p50 ${fmtSeconds(latency.quantile(0.5))}  p99 ${fmtSeconds(latency.quantile(0.99))}`],
        ['client retries', fmtCount(retried)],
        ['no-ops committed', fmtCount(noops)],
        ['view', `${final.max('switchyard_hydrapaxos_view', 'receiver')}`],
        ['view changes (replica joins)', Object.entries(viewChanges).map(([k, v]) => `${k} ${fmtCount(v)}`).join(', ') || 'none'],
        ['state transfers', fmtCount(transfers)],
        ...(Object.keys(violations).length ? [['INVARIANTS BROKEN (a bug: see the replicas\' logs)', Object.entries(violations).map(([k, v]) => `${k} ${fmtCount(v)}`).join(', ')] as [string, string]] : []),
        cpuRow(cpu),
        ...hydra.rows,
      ],
      json: {
        ...hydra.json,
        ops_per_s: opsPerS,
        latency_s: { p50: latency.quantile(0.5), p99: latency.quantile(0.99) },
        client_retries: retried,
        noops,
        cpu_s_per_op: cpu,
        view_changes: viewChanges,
        state_transfers: transfers,
        invariant_violations: violations,
        hydra_ops_per_s: hydra.json.ops_per_s,
      },
    };
  },
};

/**
 * HydraTxn: HydraPaxos's rows (every shard is a replicated group) plus the transactions a whole
 * shard lost: recovered from another shard, or aborted everywhere (their clients retry them).
 */
export const hydraTxnReport: SystemReport = {
  work: clientOperations,

  progress(now, prev) {
    const aborted = now.sum('switchyard_hydratxn_cross_shard_decisions_total', { outcome: 'dropped' });
    return `${hydraAppProgress(now, prev, 'transactions')} · aborted ${fmtCount(aborted)}`;
  },

  summary(final, base, seconds, drained) {
    const paxos = hydraPaxosReport.summary(final, base, seconds, drained);
    const found = final.sum('switchyard_hydratxn_cross_shard_decisions_total', { outcome: 'found' });
    const aborted = final.sum('switchyard_hydratxn_cross_shard_decisions_total', { outcome: 'dropped' });
    const [committed, ...rest] = paxos.rows;
    return {
      rows: [
        ['committed transactions', committed![1]],
        ['lost by a whole shard', `${fmtCount(found)} recovered from another shard, ${fmtCount(aborted)} aborted everywhere (retried)`],
        ...rest,
      ],
      json: { ...paxos.json, transactions_recovered: found, transactions_aborted: aborted },
    };
  },
};

/** Capybara: client requests and latency, per-server load, migrations and their phases, integrity at the end. */
export const capybaraReport: SystemReport = {
  work: clientOperations,

  sample(now, prev) {
    const dt = (now.at - prev.at) / 1000;
    const before = prev.byLabel('switchyard_capybara_server_requests_total', 'server');
    const latency = now.histogram('switchyard_client_request_seconds').since(prev.histogram('switchyard_client_request_seconds'));
    return {
      load_per_server_rps: Object.fromEntries([...now.byLabel('switchyard_capybara_server_requests_total', 'server')]
        .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([s, n]) => [s, dt > 0 ? (n - (before.get(s) ?? 0)) / dt : 0])),
      latency_p99_s: latency.quantile(0.99),
      migrations: now.sum('switchyard_capybara_migrations_total', { result: 'completed' }) - prev.sum('switchyard_capybara_migrations_total', { result: 'completed' }),
    };
  },

  progress(now, prev) {
    const latency = now.histogram('switchyard_client_request_seconds').since(prev.histogram('switchyard_client_request_seconds'));
    const blackout = now.histogram('switchyard_capybara_migration_seconds', { phase: 'blackout' }).since(prev.histogram('switchyard_capybara_migration_seconds', { phase: 'blackout' }));
    const dt = (now.at - prev.at) / 1000;
    const perServer = [...now.byLabel('switchyard_capybara_server_requests_total', 'server')].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
      .map(([server, n]) => `${server.replace('server-', 's')} ${fmtCount(dt > 0 ? (n - (prev.byLabel('switchyard_capybara_server_requests_total', 'server').get(server) ?? 0)) / dt : 0)}`);
    return [
      `requests ${fmtCount(dt > 0 ? latency.count / dt : 0)}/s`,
      `latency p50 ${fmtSeconds(latency.quantile(0.5))} p99 ${fmtSeconds(latency.quantile(0.99))}`,
      `load/s ${perServer.join(' ')}`,
      `migrations ${fmtCount(rate(now, prev, 'switchyard_capybara_migrations_total'))}/s (blackout p50 ${fmtSeconds(blackout.quantile(0.5))})`,
      `conns ${fmtCount(now.sum('switchyard_capybara_connections'))}`,
    ].join(' · ');
  },

  summary(final, base, seconds, drained) {
    const latency = final.histogram('switchyard_client_request_seconds').since(base.histogram('switchyard_client_request_seconds'));
    const phase = (p: string) => final.histogram('switchyard_capybara_migration_seconds', { phase: p }).since(base.histogram('switchyard_capybara_migration_seconds', { phase: p }));
    const phases = Object.fromEntries(['prepare', 'serialize', 'transfer', 'blackout', 'total'].map((p) => [p, { p50: phase(p).quantile(0.5), p99: phase(p).quantile(0.99) }]));
    // Migrations in the measurement window (integrity, below, covers the whole run).
    const startedWith = base.byLabel('switchyard_capybara_migrations_total', 'result');
    const byResult = Object.fromEntries([...final.byLabel('switchyard_capybara_migrations_total', 'result')].map(([k, n]) => [k, n - (startedWith.get(k) ?? 0)]));
    const before = base.byLabel('switchyard_capybara_server_requests_total', 'server');
    const load = Object.fromEntries([...final.byLabel('switchyard_capybara_server_requests_total', 'server')]
      .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([s, n]) => [s, seconds > 0 ? (n - (before.get(s) ?? 0)) / seconds : 0]));
    const end = drained ?? final;
    const errors = (kind: string) => end.sum('switchyard_capybara_client_errors', { kind });
    // Outstanding requests are lost only once the load has drained; on a live testbed they are in flight.
    const lost = drained ? drained.sum('switchyard_capybara_client_outstanding') : null;
    const opsPerS = seconds > 0 ? latency.count / seconds : 0;
    const completed = byResult.completed ?? 0;
    const rejected = Object.fromEntries(end.byLabel('switchyard_capybara_rejected_total', 'reason'));
    const problems = [
      ...(lost !== null && lost > 0 ? [`${lost} requests never answered`] : []),
      ...(errors('duplicated') > 0 ? [`${errors('duplicated')} requests executed twice`] : []),
      ...(errors('mismatched') > 0 ? [`${errors('mismatched')} wrong replies`] : []),
    ];
    return {
      rows: [
        ['requests', `${fmtCount(latency.count)} (${fmtCount(opsPerS)}/s)`],
        ['client latency', `p50 ${fmtSeconds(latency.quantile(0.5))}  p99 ${fmtSeconds(latency.quantile(0.99))}  p99.9 ${fmtSeconds(latency.quantile(0.999))}`],
        ['load per server', Object.entries(load).map(([s, r]) => `${s} ${fmtCount(r)}/s`).join(', ') || '—'],
        ['migrations', Object.entries(byResult).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${fmtCount(n)}`).join(', ') || 'none'],
        ['migration p50', ['prepare', 'serialize', 'transfer', 'blackout', 'total'].map((p) => `${p} ${fmtSeconds(phases[p]!.p50)}`).join(', ')],
        ['requests lost / duplicated / wrong', `${lost ?? '— (load still running)'} / ${errors('duplicated')} / ${errors('mismatched')}`],
        ['connections cut (clients saw)', `${errors('reset')} resets, ${errors('timeout')} timeouts (${errors('reconnect')} reconnects, ${errors('cut')} requests cut off and sent again)`],
        ['rejected', Object.entries(rejected).map(([k, v]) => `${k} ${fmtCount(v)}`).join(', ') || 'none'],
      ],
      json: {
        ops_per_s: opsPerS,
        latency_s: { p50: latency.quantile(0.5), p99: latency.quantile(0.99), p999: latency.quantile(0.999) },
        migrations: completed,
        migrations_by_result: byResult,
        migration_phases_s: phases,
        blackout_p50_s: phases.blackout!.p50,
        requests_lost: lost,
        requests_duplicated: errors('duplicated'),
        requests_wrong: errors('mismatched'),
        resets: errors('reset'),
        timeouts: errors('timeout'),
        reconnects: errors('reconnect'),
        /** Requests outstanding on connections closed by a reset or timeout: resent, possibly run twice (a restart's own toll). */
        requests_cut: errors('cut'),
        load_per_server_rps: load,
        rejected,
      },
      problems,
    };
  },
};

/** The report of the system a plan runs. */
export function reportFor(plan: Plan): SystemReport {
  if (plan.document.system === 'hydra') {
    const app = plan.document.hydra.application;
    return app === 'hydrapaxos' ? hydraPaxosReport : app === 'hydratxn' ? hydraTxnReport : hydraReport;
  }
  return plan.document.system === 'capybara' ? capybaraReport : bftReport;
}
