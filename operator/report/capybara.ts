import { CAPYBARA_METRICS as M } from '../../node/capybara/metrics.js';
import { cpuPerOp } from './cpu.js';
import { clientLatency, clientOperations, fmtCount, fmtCounts, fmtSeconds, rate } from './format.js';
import type { Snapshot } from './scrape.js';
import { type SystemReport, tabulate } from './system-report.js';

const PHASES = ['prepare', 'serialize', 'transfer', 'blackout', 'total'] as const;

/** Requests per second each server was sent between two scrapes, servers in numeric order. */
function loadPerServer(now: Snapshot, prev: Snapshot, seconds: number): Record<string, number> {
  const before = prev.byLabel(M.serverRequests, 'server');
  return Object.fromEntries([...now.byLabel(M.serverRequests, 'server')]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([s, n]) => [s, seconds > 0 ? (n - (before.get(s) ?? 0)) / seconds : 0]));
}

/** Client requests answered per second between two scrapes. */
function dtOps(now: Snapshot, prev: Snapshot): number {
  const dt = (now.at - prev.at) / 1000;
  return dt > 0 ? clientLatency(now, prev).count / dt : 0;
}

/** Capybara: client requests and latency, per-server load, migrations and their phases, integrity at the end. */
export const capybaraReport = {
  work: clientOperations,

  sample(now, prev) {
    const migrated = (s: Snapshot) => s.sum(M.migrations, { result: 'completed' });
    return {
      load_per_server_rps: loadPerServer(now, prev, (now.at - prev.at) / 1000),
      ops_per_s: dtOps(now, prev),
      latency_p99_s: clientLatency(now, prev).quantile(0.99),
      migrations: migrated(now) - migrated(prev),
    };
  },

  progress(now, prev) {
    const latency = clientLatency(now, prev);
    const blackout = now.histogram(M.migrationSeconds, { phase: 'blackout' }).since(prev.histogram(M.migrationSeconds, { phase: 'blackout' }));
    const dt = (now.at - prev.at) / 1000;
    const perServer = Object.entries(loadPerServer(now, prev, dt)).map(([server, r]) => `${server.replace('server-', 's')} ${fmtCount(r)}`);
    return [
      `requests ${fmtCount(dt > 0 ? latency.count / dt : 0)}/s`,
      `latency p50 ${fmtSeconds(latency.quantile(0.5))} p99 ${fmtSeconds(latency.quantile(0.99))}`,
      `load/s ${perServer.join(' ')}`,
      `migrations ${fmtCount(rate(now, prev, M.migrations))}/s (blackout p50 ${fmtSeconds(blackout.quantile(0.5))})`,
      `conns ${fmtCount(now.sum(M.connections))}`,
    ].join(' · ');
  },

  summary(final, base, seconds, drained) {
    const latency = clientLatency(final, base);
    const phase = (p: string) => final.histogram(M.migrationSeconds, { phase: p }).since(base.histogram(M.migrationSeconds, { phase: p }));
    const phases = Object.fromEntries(PHASES.map((p) => [p, { p50: phase(p).quantile(0.5), p99: phase(p).quantile(0.99) }])) as Record<typeof PHASES[number], { p50: number | null; p99: number | null }>;
    // Migrations in the measurement window (integrity, below, covers the whole run).
    const startedWith = base.byLabel(M.migrations, 'result');
    const byResult = Object.fromEntries([...final.byLabel(M.migrations, 'result')].map(([k, n]) => [k, n - (startedWith.get(k) ?? 0)]));
    const load = loadPerServer(final, base, seconds);
    const end = drained ?? final;
    const errors = (kind: string) => end.sum(M.clientErrors, { kind });
    // Outstanding requests are lost only once the load has drained; on a live testbed they are in flight.
    const lost = drained ? drained.sum(M.clientOutstanding) : null;
    const opsPerS = seconds > 0 ? latency.count / seconds : 0;
    const rejected = Object.fromEntries(end.byLabel(M.rejected, 'reason'));
    const decidedBefore = base.byLabel(M.migrationDecisions, 'trigger');
    const decisions = Object.fromEntries([...final.byLabel(M.migrationDecisions, 'trigger')].map(([k, n]) => [k, n - (decidedBefore.get(k) ?? 0)]));
    const problems = [
      ...(lost !== null && lost > 0 ? [`${lost} requests never answered`] : []),
      ...(errors('duplicated') > 0 ? [`${errors('duplicated')} requests executed twice`] : []),
      ...(errors('mismatched') > 0 ? [`${errors('mismatched')} wrong replies`] : []),
    ];
    return tabulate({
      ops_per_s: { row: ['requests', `${fmtCount(latency.count)} (${fmtCount(opsPerS)}/s)`], json: opsPerS },
      latency_s: {
        row: ['client latency', `p50 ${fmtSeconds(latency.quantile(0.5))}  p99 ${fmtSeconds(latency.quantile(0.99))}  p99.9 ${fmtSeconds(latency.quantile(0.999))}`],
        json: { p50: latency.quantile(0.5), p99: latency.quantile(0.99), p999: latency.quantile(0.999) },
      },
      load_per_server_rps: { row: ['load per server', Object.entries(load).map(([s, r]) => `${s} ${fmtCount(r)}/s`).join(', ') || '—'], json: load },
      migrations_by_result: { row: ['migrations', fmtCounts(Object.fromEntries(Object.entries(byResult).filter(([, n]) => n > 0)))], json: byResult },
      migrations: { json: byResult.completed ?? 0 },
      migration_decisions: { row: ['policy chose (connections)', fmtCounts(decisions)], json: decisions },
      migration_phases_s: { row: ['migration p50', PHASES.map((p) => `${p} ${fmtSeconds(phases[p].p50)}`).join(', ')], json: phases },
      blackout_p50_s: { json: phases.blackout.p50 },
      requests_lost: { row: ['requests lost / duplicated / wrong', `${lost ?? '— (load still running)'} / ${errors('duplicated')} / ${errors('mismatched')}`], json: lost },
      requests_duplicated: { json: errors('duplicated') },
      requests_wrong: { json: errors('mismatched') },
      resets: {
        row: ['connections cut (clients saw)', `${errors('reset')} resets, ${errors('timeout')} timeouts (${errors('reconnect')} reconnects, ${errors('cut')} requests cut off and sent again, ${errors('session-rebuilt')} sessions lost and rebuilt)`],
        json: errors('reset'),
      },
      timeouts: { json: errors('timeout') },
      reconnects: { json: errors('reconnect') },
      /** Requests outstanding on connections closed by a reset or timeout: resent, possibly run twice (a restart's own toll). */
      requests_cut: { json: errors('cut') },
      /** Key-value sessions lost with a cut connection, rebuilt by their client (the blob stored again, the counter from zero). */
      sessions_rebuilt: { json: errors('session-rebuilt') },
      rejected: { row: ['rejected', fmtCounts(rejected)], json: rejected },
      /** Server CPU per answered request (`servers`: all of them, `busiest_replica`: the busiest), and the switch's and clients'. */
      cpu_s_per_op: cpuPerOp(final, base, latency.count, 'server'),
    }, undefined, problems);
  },
} satisfies SystemReport;
