import { fmtCount, fmtCounts, fmtSeconds, clientLatency, clientOperations, rate } from './format.js';
import { cpuPerOp } from './cpu.js';
import type { Snapshot } from './scrape.js';
import { type SystemReport, tabulate } from './system-report.js';

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

/** NeoBFT, PBFT or the unreplicated server: the clients' commits, AOM's authentication, the replicas' view and what they refused. */
export const bftReport = {
  work: clientOperations,

  progress(now, prev) {
    const latency = clientLatency(now, prev);
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
    const latency = clientLatency(final, base);
    const rejected = Object.fromEntries(final.byLabel('switchyard_aom_rejected_total', 'reason'));
    // What replicas refused above AOM: forged client requests, bad votes, bad VIEW-CHANGEs, garbage.
    const refused = Object.fromEntries([...final.byLabel('switchyard_neobft_invalid_total', 'reason'), ...final.byLabel('switchyard_pbft_invalid_total', 'reason')]);
    const gaps = final.sum('switchyard_neobft_gap_agreements_total');
    const authenticated = final.sum('switchyard_aom_authenticated_total') - base.sum('switchyard_aom_authenticated_total');
    const opsPerS = seconds > 0 ? latency.count / seconds : 0;
    const { epoch, view, text, viewChanges } = bftView(final);
    return tabulate({
      ops_per_s: { row: ['committed operations', `${fmtCount(latency.count)} (${fmtCount(opsPerS)}/s)`], json: opsPerS },
      latency_s: { row: ['client latency', `p50 ${fmtSeconds(latency.quantile(0.5))}  p99 ${fmtSeconds(latency.quantile(0.99))}`], json: { p50: latency.quantile(0.5), p99: latency.quantile(0.99) } },
      authenticated: { row: ['authenticated', `${fmtCount(authenticated)} (${fmtCount(seconds > 0 ? authenticated / seconds : 0)}/s)`], json: authenticated },
      gap_agreements: { row: ['gap agreements', `${fmtCount(gaps)} (${fmtCount(final.sum('switchyard_neobft_gap_agreements_total', { outcome: 'no-op' }))} no-ops)`], json: gaps },
      view: { row: ['view', text.replace(/^view /, '')], json: view },
      epoch: { json: epoch },
      view_changes: { row: ['view changes started', fmtCounts(viewChanges)], json: viewChanges },
      rejected: { row: ['rejected by AOM', fmtCounts(rejected)], json: rejected },
      refused: { row: ['refused by replicas', fmtCounts(refused)], json: refused },
      cpu_s_per_op: cpuPerOp(final, base, latency.count, 'replica'),
    });
  },
} satisfies SystemReport;
