import { BFT_METRICS } from '../../node/neobft/metrics.js';
import { fmtCount, fmtCounts, fmtSeconds, clientLatency, clientOperations, rate } from './format.js';
import { cpuPerOp } from './cpu.js';
import { datagramsPerOp } from './datagrams.js';
import type { Snapshot } from './scrape.js';
import { type SystemReport, tabulate } from './system-report.js';

/** The baselines' metrics, and what their progress line shows of how far they got. */
const BASELINES = [
  { names: BFT_METRICS.pbft, progress: (s: Snapshot) => `stable checkpoint ${s.max(BFT_METRICS.pbft.stableCheckpoint, 'replica')}` },
  { names: BFT_METRICS.hotstuff, progress: (s: Snapshot) => `committed height ${s.max(BFT_METRICS.hotstuff.committedHeight, 'replica')}` },
  { names: BFT_METRICS.zyzzyva, progress: zyzzyvaProgress },
];

/** How far Zyzzyva's commit certificates got, and the share of operations the fast path completed. */
function zyzzyvaProgress(s: Snapshot): string {
  const z = BFT_METRICS.zyzzyva;
  const fast = s.sum(z.clientCompletions, { path: 'fast' });
  const all = fast + s.sum(z.clientCompletions, { path: 'two-phase' });
  return `committed ${s.max(z.committed, 'replica')} · fast path ${all > 0 ? Math.round((100 * fast) / all) : 0}%`;
}

/** The baseline (PBFT, HotStuff, Zyzzyva) whose replicas answered, if it is one. */
const baselineOf = (s: Snapshot) => BASELINES.find((b) => s.has(b.names.view));

/**
 * A BFTCluster's view as its replicas report it: NeoBFT's ⟨epoch, leader⟩ (JSON `view` is the
 * leader number), or a baseline's view number (no epochs: `epoch` 0). View changes by reason, either way.
 */
function bftView(s: Snapshot): { epoch: number; view: number; text: string; viewChanges: Record<string, number> } {
  const baseline = baselineOf(s);
  if (baseline) {
    const view = s.max(baseline.names.view, 'replica');
    return { epoch: 0, view, text: `view ${view}`, viewChanges: Object.fromEntries(s.byLabel(baseline.names.viewChanges, 'reason')) };
  }
  const epoch = s.max(BFT_METRICS.epoch, 'replica');
  const view = s.max(BFT_METRICS.leader, 'replica');
  return { epoch, view, text: `view ⟨${epoch}, ${view}⟩`, viewChanges: Object.fromEntries(s.byLabel(BFT_METRICS.viewChanges, 'reason')) };
}

/** NeoBFT, a baseline or the unreplicated server: the clients' commits, AOM's authentication, the replicas' view and what they refused. */
export const bftReport = {
  work: clientOperations,

  progress(now, prev) {
    const latency = clientLatency(now, prev);
    const dt = (now.at - prev.at) / 1000;
    const committed = dt > 0 ? latency.count / dt : 0;
    const baseline = baselineOf(now);
    return [
      `committed ${fmtCount(committed)}/s`,
      `latency p50 ${fmtSeconds(latency.quantile(0.5))} p99 ${fmtSeconds(latency.quantile(0.99))}`,
      ...(baseline
        ? [baseline.progress(now)]
        : [`authenticated ${fmtCount(rate(now, prev, BFT_METRICS.aomAuthenticated))}/s`, `gap agreements ${fmtCount(now.sum(BFT_METRICS.gapAgreements))}`]),
      bftView(now).text,
    ].join(' · ');
  },

  summary(final, base, seconds) {
    const latency = clientLatency(final, base);
    const rejected = Object.fromEntries(final.byLabel(BFT_METRICS.aomRejected, 'reason'));
    // What replicas refused above AOM: forged client requests, bad votes, bad VIEW-CHANGEs, garbage.
    const refused = Object.fromEntries([BFT_METRICS.invalid, ...BASELINES.map((b) => b.names.invalid)].flatMap((name) => [...final.byLabel(name, 'reason')]));
    const gaps = final.sum(BFT_METRICS.gapAgreements);
    const authenticated = final.sum(BFT_METRICS.aomAuthenticated) - base.sum(BFT_METRICS.aomAuthenticated);
    const opsPerS = seconds > 0 ? latency.count / seconds : 0;
    const { epoch, view, text, viewChanges } = bftView(final);
    return tabulate({
      ops_per_s: { row: ['committed operations', `${fmtCount(latency.count)} (${fmtCount(opsPerS)}/s)`], json: opsPerS },
      latency_s: { row: ['client latency', `p50 ${fmtSeconds(latency.quantile(0.5))}  p99 ${fmtSeconds(latency.quantile(0.99))}`], json: { p50: latency.quantile(0.5), p99: latency.quantile(0.99) } },
      authenticated: { row: ['authenticated', `${fmtCount(authenticated)} (${fmtCount(seconds > 0 ? authenticated / seconds : 0)}/s)`], json: authenticated },
      gap_agreements: { row: ['gap agreements', `${fmtCount(gaps)} (${fmtCount(final.sum(BFT_METRICS.gapAgreements, { outcome: 'no-op' }))} no-ops)`], json: gaps },
      view: { row: ['view', text.replace(/^view /, '')], json: view },
      epoch: { json: epoch },
      view_changes: { row: ['view changes started', fmtCounts(viewChanges)], json: viewChanges },
      rejected: { row: ['rejected by AOM', fmtCounts(rejected)], json: rejected },
      refused: { row: ['refused by replicas', fmtCounts(refused)], json: refused },
      cpu_s_per_op: cpuPerOp(final, base, latency.count, 'replica'),
      datagrams_per_op: datagramsPerOp(final, base, latency.count),
    });
  },
} satisfies SystemReport;
