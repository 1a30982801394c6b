import { paperSettingText } from '../model/paper-setting.js';
import type { FigureGroup } from './figure.js';
import { compareCurves, curveSeries, kops, loopbackSeries, peak, ratioFields, times } from './load-figure.js';
import type { PaxosLoopback } from './hydrapaxos-loopback.js';
import { PAXOS_CONFIGS, PAXOS_NAMES, type PaxosModel, type PaxosPlan } from './hydrapaxos-source.js';
import { LOOPBACK_CLIENTS } from './neobft-loopback.js';
import { hydraTxnFigure, txnFall } from './hydratxn-figures.js';
import type { TxnLoopbackPoint } from './hydratxn-loopback.js';
import type { TxnPlan, TxnPoint } from './hydratxn-source.js';
import { hydraPaxosNumbers } from './paper-numbers.js';

const HYDRAPAXOS = ['hydrapaxos-1', 'hydrapaxos-2', 'hydrapaxos-4'] as const;

/**
 * The best HydraPaxos configuration (highest peak, as bench hydra-apps takes each round's best)
 * against the unreplicated server in the paper setting; loopback: HydraPaxos-1 against it.
 */
export function paxosRatios(model: PaxosModel, loopback: PaxosLoopback): Record<string, number | string | null> {
  const best = HYDRAPAXOS.reduce((a, b) => (peak(model[b]) > peak(model[a]) ? b : a));
  const c = compareCurves(model[best], model.unreplicated, loopback['hydrapaxos-1'], loopback.unreplicated, LOOPBACK_CLIENTS);
  return { ...ratioFields('hydrapaxos_to_unreplicated', 'hydrapaxos_to_unreplicated', c, c), ratio_hydrapaxos_configuration: best };
}

/** HydraTxn's model and loopback runs. */
export interface TxnRuns {
  plan: TxnPlan;
  model: TxnPoint[];
  loopback: TxnLoopbackPoint[];
}

/** HydraPaxos's figures: latency vs throughput of each configuration; HydraTxn's throughput vs its share of two-shard transactions. */
export function hydraPaxosFigures(plan: PaxosPlan, model: PaxosModel, loopback: PaxosLoopback, txn: TxnRuns): { group: FigureGroup; json: Record<string, unknown>; ratios: Record<string, number | string | null> } {
  const ratios: Record<string, number | string | null> = {
    ...paxosRatios(model, loopback),
    // HydraTxn's throughput at the largest share of two-shard transactions against none.
    ratio_throughput_hydratxn_most_to_no_multishard: txnFall(txn.model), loopback_ratio_throughput_hydratxn_most_to_no_multishard: txnFall(txn.loopback),
  };
  const num = (k: string) => (typeof ratios[k] === 'number' ? ratios[k] : null);
  const group: FigureGroup = {
    name: 'HydraPaxos',
    figures: [{
      id: 'hydrapaxos-latency-vs-throughput', kind: 'line', title: 'HydraPaxos: latency vs throughput (3 replicas)',
      x: { title: 'throughput (ops/s)' }, y: { title: 'p50 latency (µs)', scale: 'log' },
      series: [
        ...PAXOS_CONFIGS.map((c) => curveSeries(PAXOS_NAMES[c], model[c])),
        ...loopbackSeries(PAXOS_NAMES['hydrapaxos-1'], loopback['hydrapaxos-1']), ...loopbackSeries(PAXOS_NAMES.unreplicated, loopback.unreplicated),
      ],
      caption: `closed-loop key-value clients swept over ${plan.clients.join(', ')}, each point ${plan.window.lengthUs / 1e3} ms of virtual time after ${plan.window.warmUs / 1e3} ms of warm-up, seed ${plan.seed}; `
        + `HydraPaxos with periodic flushes every 1 ms and the flush aggregator in hardware; NOPaxos-style: one sequencer, no periodic flushes, no aggregator; `
        + `the unreplicated server is PBFT's one-replica case, as in bench hydra-apps; ${paperSettingText}; `
        + `loopback points: bench hydra-apps' and bench bft's runners, ${LOOPBACK_CLIENTS} clients`,
      finding: `peak ${PAXOS_CONFIGS.map((c) => `${PAXOS_NAMES[c]} ${kops(peak(model[c]))}`).join(', ')}; ${String(ratios.ratio_hydrapaxos_configuration)} / unreplicated throughput `
        + `${times(num('ratio_throughput_hydrapaxos_to_unreplicated'))} (loopback, HydraPaxos-1: ${times(num('loopback_ratio_throughput_hydrapaxos_to_unreplicated'))}), `
        + `p50 with one client ${times(num('ratio_p50_latency_hydrapaxos_to_unreplicated'))} (loopback, ${LOOPBACK_CLIENTS} clients: ${times(num('loopback_ratio_p50_latency_hydrapaxos_to_unreplicated'))})`,
      paper: [hydraPaxosNumbers.nopaxos, hydraPaxosNumbers.hydrapaxos],
    }, hydraTxnFigure(txn.plan, txn.model, txn.loopback, paperSettingText)],
  };
  return { group, ratios, json: { setting: paperSettingText, plan, model, loopback, hydratxn: txn, ratios } };
}
