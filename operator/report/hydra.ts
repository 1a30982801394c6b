import { HYDRA_METRICS as M } from '../../node/hydra/metrics.js';
import { fmtCount, fmtCounts, fmtSeconds, rate } from './format.js';
import { type SystemReport, tabulate } from './system-report.js';

/** Plain Hydra: messages the sequencers ordered and the receivers delivered, and how late. */
export const hydraReport = {
  // Hydra's senders are open-loop: their progress is what the receivers deliver.
  work: (s) => s.sum(M.delivered),

  progress(now, prev) {
    const delay = now.histogram(M.deliveryDelay).since(prev.histogram(M.deliveryDelay));
    return [
      `ordered ${fmtCount(rate(now, prev, M.stamped))}/s`,
      `delay p50 ${fmtSeconds(delay.quantile(0.5))} p99 ${fmtSeconds(delay.quantile(0.99))}`,
      `drops ${fmtCount(now.sum(M.dropNotifications))}`,
      `flushes ${fmtCount(now.sum(M.flushes, { kind: 'periodic' }) + now.sum(M.flushes, { kind: 'solicited' }))}`,
      `config ${now.max(M.configuration, 'config')}`,
    ].join(' · ');
  },

  summary(final, base, seconds) {
    const delay = final.histogram(M.deliveryDelay).since(base.histogram(M.deliveryDelay));
    const e2e = final.histogram(M.endToEnd).since(base.histogram(M.endToEnd));
    const stamped = final.sum(M.stamped);
    const opsPerS = seconds > 0 ? (stamped - base.sum(M.stamped)) / seconds : 0;
    const delivered = final.sum(M.delivered);
    const drops = final.sum(M.dropNotifications);
    const flushes = Object.fromEntries(final.byLabel(M.flushes, 'kind'));
    const rejected = Object.fromEntries(final.byLabel(M.rejected, 'reason'));
    const perSequencer = Object.fromEntries(final.byLabel(M.stamped, 'sequencer'));
    const configuration = final.max(M.configuration, 'config');
    const activeSequencers = final.max(M.activeSequencers, 'config') || final.sum(M.sequencerActive);
    const violations = final.sum(M.orderViolations);
    return tabulate({
      stamped: { row: ['messages ordered', `${fmtCount(stamped)} (${fmtCount(opsPerS)}/s)`], json: stamped },
      ops_per_s: { json: opsPerS },
      stamped_per_sequencer: { row: ['per sequencer', Object.entries(perSequencer).map(([k, v]) => `#${k} ${fmtCount(v)}`).join(', ') || '—'], json: perSequencer },
      delivered: { row: ['deliveries', fmtCount(delivered)], json: delivered },
      latency_s: { row: ['ordering delay', `p50 ${fmtSeconds(delay.quantile(0.5))}  p99 ${fmtSeconds(delay.quantile(0.99))}`], json: { p50: delay.quantile(0.5), p99: delay.quantile(0.99) } },
      end_to_end_s: { row: ['send → delivery', `p50 ${fmtSeconds(e2e.quantile(0.5))}  p99 ${fmtSeconds(e2e.quantile(0.99))}`], json: { p50: e2e.quantile(0.5), p99: e2e.quantile(0.99) } },
      drop_notifications: { row: ['drop notifications', fmtCount(drops)], json: drops },
      flushes: { row: ['flushes', fmtCounts(flushes, '—')], json: flushes },
      configuration: { row: ['configuration', `${configuration} (${activeSequencers} active sequencers)`], json: configuration },
      active_sequencers: { json: activeSequencers },
      order_violations: { row: ['order self-check', `${violations} violations`], json: violations },
      rejected: { row: ['rejected', fmtCounts(rejected)], json: rejected },
    });
  },
} satisfies SystemReport;
