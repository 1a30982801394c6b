import asciichart from 'asciichart';
import { fmtSeconds } from '../../operator/report/format.js';
import type { BenchOptions, BenchResult } from '../support/types.js';
import { capybaraReport } from '../../operator/report/capybara.js';
import { runResource } from '../support/run-resource.js';

type Phases = Record<string, { p50: number | null; p99: number | null }>;

interface StatePoint {
  state_kb: number;
  migrations: number;
  phases_s: Phases;
}

interface TimelinePoint {
  t_s: number;
  load_per_server_rps: Record<string, number>;
  latency_p99_s: number | null;
}

interface WorkloadPoint {
  workload: string;
  timeline: TimelinePoint[];
  mode: string;
  ops_per_s: number;
  latency_s: { p50: number | null; p99: number | null; p999: number | null };
  load_per_server_rps: Record<string, number>;
  migrations: number;
  reconnects: number;
  requests_lost: number | null;
  requests_duplicated: number;
}

const MODES = ['capybara', 'lwrr', 'reconnect'] as const;
/** One run's timeline as stacked text charts: requests/s at each server, then the client p99 (ms). */
function plotTimeline(timeline: TimelinePoint[]): string {
  if (timeline.length === 0) return '(no samples)';
  const chart = (title: string, values: number[], max: number) =>
    `${title}\n${asciichart.plot(values, { height: 6, min: 0, max, format: (x: number) => x.toFixed(0).padStart(8) })}`;
  const servers = Object.keys(timeline[0]!.load_per_server_rps);
  // One scale for every server, so the charts compare.
  const top = Math.max(1, ...timeline.flatMap((p) => Object.values(p.load_per_server_rps)));
  const p99 = timeline.map((p) => (p.latency_p99_s ?? 0) * 1e3);
  return [
    ...servers.map((s) => chart(`${s}: requests/s`, timeline.map((p) => p.load_per_server_rps[s] ?? 0), top)),
    chart('client p99 latency (ms)', p99, Math.max(1, ...p99)),
  ].join('\n\n');
}
const SERVICE_US = 300;

function service(name: string, seconds: number, spec: Record<string, unknown>, workload: Record<string, unknown>) {
  return {
    apiVersion: 'switchyard.dev/v1alpha1', kind: 'MigratingService', metadata: { name },
    spec: { ...spec, workload: { clients: 2, connectionsPerClient: 100, durationSeconds: seconds, ...workload } },
  };
}

/**
 * `switchyard bench capybara`: first the migration itself — phases and blackout for sessions of
 * 0, 16, 64 and 128 KiB (the session's blob travels in CONN_STATE) — then the paper's workloads
 * under `capybara`, `lwrr` and `reconnect`: the step workload (2 servers, the connections of
 * server 0 stepping up tenfold, Zipf 1.2, as in its Fig. 8) and steady Zipf 0.9 and 1.2 over
 * 4 servers. Every configuration is a loopback testbed of processes in the same run.
 */
export async function benchCapybara(opts: BenchOptions, log: (line: string) => void): Promise<BenchResult> {
  const seconds = opts.seconds ?? 8;
  const states: StatePoint[] = [];
  for (const kb of [0, 16, 64, 128]) {
    log(`state ${kb} KiB: ${seconds}s`);
    // Deliberate migrations, each server one every 20 ms, under a light load.
    const r = await runResource(service(`bench-capy-state-${kb}`, seconds, { servers: 2, migration: { forcedEveryMillis: 20 } }, {
      clients: 1, connectionsPerClient: 20, ratePerClient: 2000, stateBytes: kb * 1024, step: { atSeconds: null },
    }), capybaraReport);
    const p: StatePoint = { state_kb: kb, migrations: r.migrations, phases_s: r.migration_phases_s };
    log(`  ${p.migrations} migrations, blackout p50 ${fmtSeconds(p.phases_s.blackout!.p50)}, total p50 ${fmtSeconds(p.phases_s.total!.p50)}`);
    states.push(p);
  }
  const workloads: WorkloadPoint[] = [];
  // Servers serve at most 1e6/SERVICE_US ≈ 3.3k requests/s each (emulated service time). In the
  // step workload one client's 200 connections alternate between the 2 servers, so the stepped
  // ones are exactly server 0's: after the step server 0 is offered more than it can serve
  // while the pair could serve it all — the imbalance Capybara removes.
  const shapes: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['step, Zipf 1.2, 2 servers', { servers: 2, serviceMicros: SERVICE_US }, { clients: 1, connectionsPerClient: 200, zipf: 1.2, ratePerClient: 1300, step: { atSeconds: 2, factor: 10 } }],
    ['Zipf 0.9, 4 servers', { servers: 4, serviceMicros: SERVICE_US }, { zipf: 0.9, ratePerClient: 4000, step: { atSeconds: null } }],
    ['Zipf 1.2, 4 servers', { servers: 4, serviceMicros: SERVICE_US }, { zipf: 1.2, ratePerClient: 4000, step: { atSeconds: null } }],
  ];
  for (const [workload, spec, load] of shapes) {
    for (const mode of MODES) {
      log(`${workload}, ${mode}: ${seconds}s`);
      const r = await runResource(service(`bench-capy-${workloads.length}`, seconds, { ...spec, migration: { mode } }, load), capybaraReport);
      const p: WorkloadPoint = {
        workload, mode, timeline: r.timeline ?? [], ops_per_s: r.ops_per_s, latency_s: r.latency_s,
        load_per_server_rps: r.load_per_server_rps, migrations: r.migrations, reconnects: r.reconnects,
        requests_lost: r.requests_lost, requests_duplicated: r.requests_duplicated,
      };
      log(`  ${p.ops_per_s.toFixed(0)} req/s, p50 ${fmtSeconds(p.latency_s.p50)}, p99 ${fmtSeconds(p.latency_s.p99)}, ${p.migrations} migrations`);
      workloads.push(p);
    }
  }
  const step = (mode: string) => workloads.find((w) => w.workload.startsWith('step') && w.mode === mode)!;
  const ratioP99 = (step('lwrr').latency_s.p99 ?? NaN) / (step('capybara').latency_s.p99 ?? NaN);
  const blackoutP50 = states[0]!.phases_s.blackout!.p50;
  const lost = workloads.reduce((n, w) => n + (w.requests_lost ?? 0), 0);
  const duplicated = workloads.reduce((n, w) => n + w.requests_duplicated, 0);
  const phase = (p: Phases, name: string) => fmtSeconds(p[name]!.p50);
  const stepRuns = workloads.filter((w) => w.workload.startsWith('step'));
  const plots = stepRuns.map((w): [string, string] => [`Step workload, ${w.mode}: load per server and client p99 over time (one point per second)`, plotTimeline(w.timeline)]);
  return {
    name: 'capybara',
    plots,
    json: {
      blackout_p50_s: blackoutP50,
      ratio_p99_lwrr_to_capybara: ratioP99,
      requests_lost: lost,
      requests_duplicated: duplicated,
      state_sizes: states,
      workloads,
      targets: { blackout_p50_at_most_300us: blackoutP50 !== null && blackoutP50 <= 300e-6, p99_lwrr_over_capybara_at_least_10: ratioP99 >= 10, nothing_lost_or_duplicated: lost === 0 && duplicated === 0 },
    },
    tables: [
      ['Migration phases (p50) by session size: 2 servers each migrating a random connection every 20 ms, 20 connections at 2k req/s', ['state', 'migrations', 'prepare', 'serialize', 'transfer', 'blackout', 'total'],
        states.map((s) => [`${s.state_kb} KiB`, String(s.migrations), phase(s.phases_s, 'prepare'), phase(s.phases_s, 'serialize'), phase(s.phases_s, 'transfer'), phase(s.phases_s, 'blackout'), phase(s.phases_s, 'total')])],
      [`Workloads, open loop, ${SERVICE_US} µs of service per request at a server (step: 1 client × 200 connections; Zipf: 2 × 100)`, ['workload', 'mode', 'req/s', 'p50', 'p99', 'p99.9', 'load per server (req/s)', 'migrations', 'reconnects', 'lost', 'duplicated'],
        workloads.map((w) => [w.workload, w.mode, w.ops_per_s.toFixed(0), fmtSeconds(w.latency_s.p50), fmtSeconds(w.latency_s.p99), fmtSeconds(w.latency_s.p999),
          Object.values(w.load_per_server_rps).map((v) => v.toFixed(0)).join(' / '), String(w.migrations), String(w.reconnects), String(w.requests_lost), String(w.requests_duplicated)])],
      ['Ratios and targets', ['measure', 'value', 'target'], [
        ['blackout p50, empty session', fmtSeconds(blackoutP50), '≤ 300µs'],
        ['p99 lwrr / capybara, step workload', ratioP99.toFixed(2), '≥ 10'],
        ['requests lost / duplicated (all runs)', `${lost} / ${duplicated}`, '0 / 0'],
      ]],
    ],
  };
}
