import type { Sample } from '../members/exposition.js';
import { type MemberReading, ProgressTracker, describeVerdict } from '../members/progress.js';
import { agreedValues } from '../members/status-values.js';
import type { Plan } from '../plan/types.js';
import type { MetricJson, Snapshot } from './scrape.js';

/** No stall is declared sooner than this, as the operator's default `--stall-after`. */
export const STALL_AFTER_MS = 30_000;

/** prom-client's `/metrics.json` of one member as the samples its `/metrics` text carries. */
function samplesOf(metrics: MetricJson[]): Sample[] {
  return metrics.flatMap((m) => m.values.map((v) => ({
    name: (v as { metricName?: string }).metricName ?? m.name,
    labels: Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)])),
    value: v.value,
  })));
}

/**
 * The operator's ProgressTracker (issue 18, "status tells the truth") fed from the scrapes
 * `switchyard up` takes anyway: the plan's progress counter must move within max(30 s, the
 * spec's longest timeout), else the protocol is stalled, with the operator's ProtocolStalled message.
 */
export class StallWatch {
  private readonly tracker: ProgressTracker | null;

  constructor(private readonly plan: Plan) {
    const signal = plan.progress;
    this.tracker = signal ? new ProgressTracker(signal, Math.max(STALL_AFTER_MS, signal.timeoutMs)) : null;
  }

  /**
   * Observes one scrape of the `running` members (one restarting is not read at all); returns
   * why the protocol is stalled, or null while it is not known to be.
   */
  observe(s: Snapshot, running: string[]): string | null {
    if (!this.tracker) return null;
    const readings = new Map<string, MemberReading>(running.map((member) => {
      const fresh = s.fresh(member);
      return [member, fresh ? samplesOf(fresh) : new Error('did not answer /metrics.json')];
    }));
    this.tracker.observe(s.at, readings);
    const verdict = this.tracker.verdict(s.at);
    if (verdict.state !== 'stalled') return null;
    const values = agreedValues(this.plan.statusMetrics, this.plan.statusMembers, readings);
    return `ProtocolStalled: ${describeVerdict(this.tracker.signal, verdict, this.plan.describeStatus(values))}`;
  }
}
