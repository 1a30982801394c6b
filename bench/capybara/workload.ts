import { fmtSeconds } from '../../operator/report/format.js';
import { capybaraReport } from '../../operator/report/capybara.js';
import { runResource } from '../support/run-resource.js';
import { service } from './service.js';

/** `below-capacity`: the Fig. 7 setting at half the load, where no server is short and migration must cost nothing. */
export type Figure = 'fig7' | 'fig8' | 'below-capacity';

export interface TimelinePoint {
  t_s: number;
  load_per_server_rps: Record<string, number>;
  ops_per_s: number;
  latency_p99_s: number | null;
}

export interface WorkloadPoint {
  figure: Figure;
  workload: string;
  zipf: number;
  mode: string;
  timeline: TimelinePoint[];
  offered_rps: number;
  /** Client-observed requests answered per second (fig8: after the step). */
  achieved_rps: number;
  /**
   * What the servers could answer at the run's placement: Σ min(arrivals, capacity) over the
   * servers (over the judged seconds). LWRR's overloaded server caps it below the offered load.
   */
  servable_rps: number;
  /** achieved < 95 % of what the servers could answer (and of the offered load): this machine, not the placement, limited the run. */
  machine_bound: boolean;
  ops_per_s: number;
  latency_s: { p50: number | null; p99: number | null; p999: number | null };
  load_per_server_rps: Record<string, number>;
  migrations: number;
  migrations_per_s: number;
  reconnects: number;
  cpu_s_per_op: Record<string, number>;
  requests_lost: number | null;
  requests_duplicated: number;
  requests_wrong: number;
}

/** One open-loop testbed of a paper setting under a migration mode. */
export interface WorkloadRun {
  figure: Figure;
  workload: string;
  zipf: number;
  mode: string;
  spec: Record<string, unknown>;
  load: Record<string, unknown>;
  /** Requests/s the clients offer. */
  offered: number;
  seconds: number;
}

/** The offered and achieved rates a run is judged by, from its timeline and its mean throughput, and the timeline's points judged (null: the whole run). */
export type Judge = (timeline: TimelinePoint[], opsPerS: number) => { offered: number; achieved: number; points: TimelinePoint[] | null };

/** Σ min(arrivals, capacity) over the servers: what they could answer (every arrival without emulated service time). */
function servable(loads: Record<string, number>, serviceMicros: number): number {
  const capacity = serviceMicros > 0 ? 1e6 / serviceMicros : Infinity;
  return Object.values(loads).reduce((n, l) => n + Math.min(l, capacity), 0);
}

/** Runs `run` as a loopback testbed named `name`; by default judged by its mean throughput against its offered load. */
export async function runWorkload(name: string, run: WorkloadRun, log: (line: string) => void, judge?: Judge): Promise<WorkloadPoint> {
  const { figure, workload, zipf, mode, spec, load, seconds } = run;
  log(`${workload}, ${mode}: ${seconds}s`);
  const r = await runResource(service(name, seconds, { ...spec, migration: { mode } }, load), capybaraReport);
  const timeline = (r.timeline ?? []) as TimelinePoint[];
  const { offered, achieved, points } = judge ? judge(timeline, r.ops_per_s) : { offered: run.offered, achieved: r.ops_per_s, points: null };
  const serviceMicros = Number(spec.serviceMicros ?? 0);
  const canServe = points && points.length > 0
    ? points.reduce((n, q) => n + servable(q.load_per_server_rps, serviceMicros), 0) / points.length
    : servable(r.load_per_server_rps, serviceMicros);
  const p: WorkloadPoint = {
    figure, workload, zipf, mode, timeline, offered_rps: offered, achieved_rps: achieved, servable_rps: canServe,
    machine_bound: achieved < 0.95 * Math.min(offered, canServe),
    ops_per_s: r.ops_per_s, latency_s: r.latency_s, load_per_server_rps: r.load_per_server_rps,
    migrations: r.migrations, migrations_per_s: r.migrations / Math.max(1e-9, r.duration_s as number), reconnects: r.reconnects,
    cpu_s_per_op: r.cpu_s_per_op, requests_lost: r.requests_lost, requests_duplicated: r.requests_duplicated, requests_wrong: r.requests_wrong,
  };
  log(`  offered ${offered.toFixed(0)}/s, achieved ${achieved.toFixed(0)}/s${p.machine_bound ? ' (MACHINE-BOUND)' : ''}, p50 ${fmtSeconds(p.latency_s.p50)}, `
    + `p99 ${fmtSeconds(p.latency_s.p99)}, ${p.migrations} migrations (${p.migrations_per_s.toFixed(1)}/s)`);
  return p;
}
