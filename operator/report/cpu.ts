import { PROCESS_CPU_SECONDS } from '../../node/runtime/metrics.js';
import { fmtSeconds } from './format.js';
import type { Entry } from './system-report.js';
import type { Snapshot } from './scrape.js';

/**
 * CPU time each role spent per committed operation over the run (process_cpu_seconds_total of
 * every member, summed per role: `replicas`, `clients`, `sequencers`, …); `busiest_replica` is the
 * busiest member of `replicaRole` — what bounds throughput when every replica has a machine of its
 * own, as in the papers — while the sums show where one shared machine's cores went. As a summary
 * entry (`cpu_s_per_op` in `--json`).
 */
export function cpuPerOp(final: Snapshot, base: Snapshot, ops: number, replicaRole: string) {
  const cpu: Record<string, number> = {};
  if (ops > 0) {
    const before = base.perMember(PROCESS_CPU_SECONDS);
    const spent = new Map<string, number[]>();
    for (const [member, seconds] of final.perMember(PROCESS_CPU_SECONDS)) {
      const role = member.split('-')[0]!;
      spent.set(role, [...(spent.get(role) ?? []), (seconds - (before.get(member) ?? seconds)) / ops]);
    }
    const replicas = spent.get(replicaRole);
    if (replicas) cpu.busiest_replica = Math.max(...replicas);
    for (const [role, each] of spent) cpu[`${role}s`] = each.reduce((a, b) => a + b, 0);
  }
  return {
    row: ['CPU per committed op', Object.entries(cpu).map(([k, v]) => `${k.replace(/_/g, ' ')} ${fmtSeconds(v)}`).join(' · ') || '—'],
    json: cpu,
  } as const satisfies Entry;
}
