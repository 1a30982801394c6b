import { paperSettingText } from '../model/paper-setting.js';
import type { FigureGroup, Series } from './figure.js';
import { compareCurves, curveSeries, kops, loopbackSeries, peak, ratioFields, times } from './load-figure.js';
import { type BftLoopback, LOOPBACK_BFT, LOOPBACK_CLIENTS } from './neobft-loopback.js';
import { BFT_NAMES, BFT_PROTOCOLS, type BftModel, type BftPlan, type BftProtocol } from './neobft-source.js';
import { neobftNumbers } from './paper-numbers.js';

/** The baselines NeoBFT-HM is compared with, as in the NeoBFT paper's Fig. 7. */
const BASELINES = ['pbft', 'hotstuff', 'zyzzyva'] as const;

const name = (p: BftProtocol) => BFT_NAMES[p];
const bySweep = <T extends { ops_per_s: number }>(m: Partial<Record<BftProtocol, T[]>>, x: (p: T) => number): Series[] =>
  (Object.entries(m) as [BftProtocol, T[]][]).map(([p, pts]) => ({ name: name(p), source: 'model', points: pts.map((q) => ({ x: x(q), y: q.ops_per_s })) }));

/** NeoBFT-HM against each baseline in the paper setting, each beside the loopback ratio (see compareCurves). */
export function bftRatios(model: BftModel, loopback: BftLoopback): Record<string, number | null> {
  const hm = model.curves['neobft-hm'];
  return Object.assign({}, ...BASELINES.map((b) => {
    const throughput = compareCurves(hm, model.curves[b], loopback['neobft-hm'], loopback[b], LOOPBACK_CLIENTS);
    const latency = compareCurves(model.curves[b], hm, loopback[b], loopback['neobft-hm'], LOOPBACK_CLIENTS);
    return ratioFields(`neobft_hm_to_${b}`, `${b}_to_neobft_hm`, throughput, latency);
  }));
}

/** NeoBFT's figures: latency vs throughput, throughput vs f, throughput vs drop rate. */
export function neobftFigures(plan: BftPlan, model: BftModel, loopback: BftLoopback): { group: FigureGroup; json: Record<string, unknown>; ratios: Record<string, number | null> } {
  const ratios = bftRatios(model, loopback);
  const ratio = (field: string) => `${times(ratios[`ratio_${field}`] ?? null)} (loopback ${times(ratios[`loopback_ratio_${field}`] ?? null)})`;
  const window = `${plan.window.lengthUs / 1e3} ms of virtual time after ${plan.window.warmUs / 1e3} ms of warm-up, seed ${plan.seed}`;
  const saturating = (Object.values(model.byF)[0] ?? [])[0]?.clients ?? plan.saturating;
  const group: FigureGroup = {
    name: 'NeoBFT',
    figures: [
      {
        id: 'neobft-latency-vs-throughput', kind: 'line', title: 'NeoBFT: latency vs throughput (f = 1)',
        x: { title: 'throughput (ops/s)' }, y: { title: 'p50 latency (µs)', scale: 'log' },
        series: [
          ...BFT_PROTOCOLS.map((p) => curveSeries(name(p), model.curves[p])),
          ...LOOPBACK_BFT.flatMap((p) => loopbackSeries(name(p), loopback[p])),
        ],
        caption: `closed-loop key-value clients swept over ${plan.clients.join(', ')}, each point ${window}; ${paperSettingText}; `
          + `loopback points: bench bft's runner, ${LOOPBACK_CLIENTS} clients, every member a process on this machine. `
          + `The paper's members are Rust over kernel-bypass networking; here every member pays this machine's measured cost of the real Node code per message and per datagram, `
          + `so absolute rates are far lower and the ratios follow how those costs split between replicas and clients`,
        finding: `peak ${BFT_PROTOCOLS.map((p) => `${name(p)} ${kops(peak(model.curves[p]))}`).join(', ')}; `
          + BASELINES.map((b) => `NeoBFT-HM / ${name(b)} throughput ${ratio(`throughput_neobft_hm_to_${b}`)}, ${name(b)} / NeoBFT-HM p50 ${ratio(`p50_latency_${b}_to_neobft_hm`)}`).join('; ')
          + ` (p50 with one client; loopback: ${LOOPBACK_CLIENTS} clients)`,
        paper: [neobftNumbers.throughput, neobftNumbers.latency, neobftNumbers.baselines],
      },
      {
        id: 'neobft-throughput-vs-f', kind: 'line', title: 'NeoBFT: throughput vs f (3f + 1 replicas)',
        x: { title: 'f' }, y: { title: 'throughput (ops/s)' }, series: bySweep(model.byF, (p) => p.f),
        caption: `${saturating} closed-loop clients, ${window}; the calibration's per-message costs (taken at f = 1) stand for every f, `
          + `so the larger HotStuff QCs and Zyzzyva commit certificates of larger f (2f + 1 signatures) are charged as at f = 1; ${paperSettingText}`,
        finding: (Object.entries(model.byF) as [BftProtocol, { f: number; ops_per_s: number }[]][])
          .map(([p, pts]) => `${name(p)}: ${pts.map((q) => `f=${q.f} ${kops(q.ops_per_s)}`).join(', ')}`).join('; '),
        paper: [neobftNumbers.scaling],
      },
      {
        id: 'neobft-throughput-vs-drop-rate', kind: 'line', title: 'NeoBFT: throughput vs network drop rate (f = 1)',
        x: { title: 'drop rate (%)' }, y: { title: 'throughput (ops/s)' }, series: bySweep(model.byLoss, (p) => p.loss * 100),
        caption: `every datagram on every link dropped with the given probability; ${saturating} closed-loop clients, ${window}; ${paperSettingText}`,
        finding: (Object.entries(model.byLoss) as [BftProtocol, { loss: number; ops_per_s: number }[]][])
          .map(([p, pts]) => `${name(p)}: ${pts.map((q) => `${q.loss * 100}% ${kops(q.ops_per_s)}`).join(', ')}`).join('; '),
        paper: [neobftNumbers.drops],
      },
    ],
  };
  return { group, ratios, json: { setting: paperSettingText, not_modelled: [], plan, model, loopback, ratios } };
}
