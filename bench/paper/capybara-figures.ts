import { fmtSeconds } from '../../operator/report/format.js';
import { FIG8 } from '../capybara/fig8.js';
import type { WorkloadPoint } from '../capybara/workload.js';
import type { FigureGroup, Series } from './figure.js';
import type { CapybaraRuns } from './capybara-source.js';
import { capybaraMigrationUs, capybaraNumbers } from './paper-numbers.js';
import { intervalPoints } from './series.js';

const PHASES = ['prepare', 'serialize', 'transfer', 'blackout', 'total'] as const;

const servers = (w: WorkloadPoint) => Object.keys(w.load_per_server_rps);

/** Mean of each server's per-second load over the samples that end after `from` seconds. */
function loadAfter(w: WorkloadPoint, from: number): Record<string, number> {
  const late = w.timeline.filter((p) => p.t_s > from);
  return Object.fromEntries(servers(w).map((s) => [s, late.reduce((n, p) => n + (p.load_per_server_rps[s] ?? 0), 0) / Math.max(1, late.length)]));
}

/** Capybara's figures from loopback runs: Fig. 8's p99 and per-server load over time, migration phases vs state size. */
export function capybaraFigures(runs: CapybaraRuns): { group: FigureGroup; json: Record<string, unknown> } {
  const capybara = runs.fig8.find((w) => w.mode === 'capybara')?.latency_s.p99 ?? null;
  const ratioToCapybara = (w: WorkloadPoint) => (w.mode === 'capybara' || !capybara || w.latency_s.p99 === null ? ''
    : ` (${(w.latency_s.p99 / capybara).toFixed(1)}× capybara's)`);
  const step = [{ x: runs.stepInWindow, label: `server 0's connections step up ×${FIG8.factor}` }];
  const fig8Setting = `${FIG8.servers} servers each serving a request in ${FIG8.serviceMicros / 1000} ms of emulated service (${1e6 / FIG8.serviceMicros}/s), `
    + `1 client × ${FIG8.connections} connections, Zipf ${FIG8.zipf}, ${FIG8.rate} requests/s stepping to ${runs.offeredAfterStep.toFixed(0)}/s ${runs.stepInWindow} s into the window; `
    + `one loopback testbed of ${runs.seconds} s per mode; one point per second of the measurement window`;
  const scale = "The paper's servers serve microsecond requests at about 100K/s each, these 2 ms ones: compare the modes' ratios, not absolute latencies.";
  const p99: Series[] = runs.fig8.map((w) => ({
    name: w.mode, source: 'loopback',
    points: intervalPoints(w.timeline.map((p) => ({ t: p.t_s, y: p.latency_p99_s === null ? null : p.latency_p99_s * 1e3 }))),
  }));
  const load: Series[] = runs.fig8.flatMap((w) => servers(w).map((s): Series => ({
    name: `${w.mode}, ${s}`, source: 'loopback',
    points: intervalPoints(w.timeline.map((p) => ({ t: p.t_s, y: p.load_per_server_rps[s] ?? 0 }))),
  })));
  const size = (p: { state_kb: number }) => p.state_kb;
  const phases: Series[] = [
    ...PHASES.map((phase): Series => ({
      name: phase, source: 'loopback',
      points: runs.states.flatMap((s) => { const v = s.phases_s[phase]?.p50 ?? null; return v === null ? [] : [{ x: size(s), y: v * 1e6 }]; }),
    })),
    { name: 'TCP total', source: 'paper', points: capybaraMigrationUs.points.map((p) => ({ x: size(p), y: p.total })) },
    { name: 'TCP server CPU', source: 'paper', points: capybaraMigrationUs.points.flatMap((p) => (p.cpu === null ? [] : [{ x: size(p), y: p.cpu }])) },
  ];
  const paperTotal = (kb: number) => capybaraMigrationUs.points.find((p) => p.state_kb === kb)?.total;
  const group: FigureGroup = {
    name: 'Capybara',
    figures: [
      {
        id: 'capybara-fig8-p99-timeline', kind: 'timeline', title: 'Capybara, Fig. 8 step workload: client p99 over time',
        x: { title: 'time in the measurement window (s)' }, y: { title: 'client p99 latency (ms), per second', scale: 'log' }, series: p99, events: step,
        caption: `${fig8Setting}; p99 of the requests answered in each second. ${scale}`,
        finding: runs.fig8.map((w) => `${w.mode}: p99 ${fmtSeconds(w.latency_s.p99)} over the run${ratioToCapybara(w)}, `
          + `worst second ${fmtSeconds(Math.max(0, ...w.timeline.map((p) => p.latency_p99_s ?? 0)))}`).join('; '),
        paper: [capybaraNumbers.fig8],
      },
      {
        id: 'capybara-fig8-load-timeline', kind: 'timeline', title: 'Capybara, Fig. 8 step workload: requests/s at each server',
        x: { title: 'time in the measurement window (s)' }, y: { title: 'requests/s sent to the server, per second' }, series: load, events: step,
        caption: `${fig8Setting}; a server's capacity is ${1e6 / FIG8.serviceMicros}/s. ${scale}`,
        finding: runs.fig8.map((w) => `${w.mode}: ${Object.entries(loadAfter(w, runs.stepInWindow + 1)).map(([s, r]) => `${s} ${r.toFixed(0)}/s`).join(', ')} after the step`).join('; '),
        paper: [capybaraNumbers.fig8],
      },
      {
        id: 'capybara-migration-phases', kind: 'line', title: 'Capybara: migration latency by phase vs connection-state size',
        x: { title: 'connection-state size (KiB)' }, y: { title: 'migration latency, p50 (µs)', scale: 'log' }, series: phases,
        caption: `loopback: 2 servers each migrating a random connection every 20 ms under 20 connections at 2k requests/s, one ${runs.seconds} s testbed per size; `
          + 'p50 of each phase, interpolated in the histogram buckets (1, 2, 5 per decade); blackout is serialize + transfer, '
          + 'so with serialize in the lowest bucket (< 1 µs) their lines coincide; paper: TCP migration between DPDK servers with a Tofino switch.',
        finding: runs.states.map((s) => {
          const total = s.phases_s.total?.p50 ?? null;
          const paper = paperTotal(s.state_kb);
          return `${s.state_kb} KiB: ${s.migrations} migrations, total p50 ${fmtSeconds(total)}`
            + `${total !== null && paper !== undefined ? ` (${(total * 1e6 / paper).toFixed(0)}× the paper's ${paper} µs)` : ''}, blackout p50 ${fmtSeconds(s.phases_s.blackout?.p50 ?? null)}`;
        }).join('; '),
        paper: [capybaraNumbers.migrationBySize, capybaraNumbers.migrationHeadline],
      },
    ],
  };
  return { group, json: { seconds: runs.seconds, fig8: { ...FIG8, step_at_s_in_window: runs.stepInWindow, runs: runs.fig8 }, state_sizes: runs.states } };
}
