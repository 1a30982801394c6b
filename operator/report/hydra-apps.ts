import { HYDRA_METRICS } from '../../node/hydra/metrics.js';
import { HYDRAPAXOS_METRICS as M } from '../../node/hydrapaxos/metrics.js';
import { CLIENT_METRICS } from '../../node/runtime/metrics.js';
import { cpuPerOp } from './cpu.js';
import { datagramsPerOp } from './datagrams.js';
import { clientLatency, clientOperations, fmtCount, fmtCounts, fmtSeconds } from './format.js';
import { hydraReport } from './hydra.js';
import type { Snapshot } from './scrape.js';
import { type SystemReport, tabulate } from './system-report.js';

/** The live line of a replicated application on Hydra; `committed` names what its clients commit. */
function hydraAppProgress(now: Snapshot, prev: Snapshot, committed: string): string {
  const latency = clientLatency(now, prev);
  const dt = (now.at - prev.at) / 1000;
  return [
    `${committed} ${fmtCount(dt > 0 ? latency.count / dt : 0)}/s`,
    `latency p50 ${fmtSeconds(latency.quantile(0.5))} p99 ${fmtSeconds(latency.quantile(0.99))}`,
    `no-ops ${fmtCount(now.sum(M.noops))}`,
    `view ${now.max(M.view, 'receiver')}`,
    `config ${now.max(HYDRA_METRICS.configuration, 'config')}`,
  ].join(' · ');
}

/** HydraPaxos on Hydra: the application's commits and recovery events, then Hydra's own rows. */
export const hydraPaxosReport = {
  work: clientOperations,

  progress: (now, prev) => hydraAppProgress(now, prev, 'committed'),

  summary(final, base, seconds) {
    const latency = clientLatency(final, base);
    const opsPerS = seconds > 0 ? latency.count / seconds : 0;
    const viewChanges = Object.fromEntries(final.byLabel(M.viewChanges, 'reason'));
    const noops = final.sum(M.noops);
    const transfers = final.sum(M.stateTransfers);
    const retried = final.sum(CLIENT_METRICS.requests, { result: 'retried' });
    const violations = Object.fromEntries(final.byLabel(M.invariantViolations, 'kind'));
    const hydra = hydraReport.summary(final, base, seconds);
    return tabulate({
      ops_per_s: { row: ['committed operations', `${fmtCount(latency.count)} (${fmtCount(opsPerS)}/s)`], json: opsPerS },
      latency_s: { row: ['client latency', `p50 ${fmtSeconds(latency.quantile(0.5))}  p99 ${fmtSeconds(latency.quantile(0.99))}`], json: { p50: latency.quantile(0.5), p99: latency.quantile(0.99) } },
      client_retries: { row: ['client retries', fmtCount(retried)], json: retried },
      noops: { row: ['no-ops committed', fmtCount(noops)], json: noops },
      view: { row: ['view', `${final.max(M.view, 'receiver')}`] },
      view_changes: { row: ['view changes (replica joins)', fmtCounts(viewChanges)], json: viewChanges },
      state_transfers: { row: ['state transfers', fmtCount(transfers)], json: transfers },
      invariant_violations: {
        ...(Object.keys(violations).length ? { row: ['INVARIANTS BROKEN (a bug: see the replicas\' logs)', fmtCounts(violations)] as const } : {}),
        json: violations,
      },
      cpu_s_per_op: cpuPerOp(final, base, latency.count, 'receiver'),
      datagrams_per_op: datagramsPerOp(final, base, latency.count),
      hydra_ops_per_s: { json: hydra.json.ops_per_s },
    }, hydra);
  },
} satisfies SystemReport;

/**
 * HydraTxn: HydraPaxos's rows (every shard is a replicated group) plus the transactions a whole
 * shard lost: recovered from another shard, or aborted everywhere (their clients retry them).
 */
export const hydraTxnReport = {
  work: clientOperations,

  progress(now, prev) {
    const aborted = now.sum(M.crossShardDecisions, { outcome: 'dropped' });
    return `${hydraAppProgress(now, prev, 'transactions')} · aborted ${fmtCount(aborted)}`;
  },

  summary(final, base, seconds) {
    const paxos = hydraPaxosReport.summary(final, base, seconds);
    const found = final.sum(M.crossShardDecisions, { outcome: 'found' });
    const aborted = final.sum(M.crossShardDecisions, { outcome: 'dropped' });
    const [committed, ...rest] = paxos.rows;
    return tabulate({
      committed: { row: ['committed transactions', committed![1]] },
      transactions_recovered: { row: ['lost by a whole shard', `${fmtCount(found)} recovered from another shard, ${fmtCount(aborted)} aborted everywhere (retried)`], json: found },
      transactions_aborted: { json: aborted },
    }, { ...paxos, rows: rest });
  },
} satisfies SystemReport;
