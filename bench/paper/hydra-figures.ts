import type { FigureGroup } from './figure.js';
import { type HydraPlan, type HydraSource, budgetedSimulator } from './hydra-source.js';
import { hydraNumbers } from './paper-numbers.js';

/** Hydra's figures: ordered throughput vs sequencers, ordering delay CDF, failover timeline. */
export function hydraFigures(plan: HydraPlan, log: (line: string) => void, source: HydraSource = budgetedSimulator): { group: FigureGroup; json: Record<string, unknown> } {
  const data = source(plan, log);
  const group: FigureGroup = {
    name: 'Hydra',
    figures: [
      {
        id: 'hydra-throughput-vs-sequencers', kind: 'line', title: 'Hydra: ordered throughput vs number of sequencers',
        x: { title: 'sequencers' }, y: { title: 'ordered messages/s (at one receiver)' }, series: data.scaling,
        caption: `${data.captions.scaling}; ${data.setting}.`, finding: data.findings.scaling,
        paper: [hydraNumbers.scalingLinear, hydraNumbers.scaling8],
      },
      {
        id: 'hydra-delay-cdf', kind: 'cdf', title: 'Hydra: ordering delay CDF',
        x: { title: 'send → in-order delivery (µs)', scale: 'log' }, y: { title: 'fraction of messages' }, series: data.delays,
        caption: `${data.captions.delays}; ${data.setting}.`, finding: data.findings.delays,
        paper: [hydraNumbers.delay],
      },
      {
        id: 'hydra-failover-timeline', kind: 'timeline', title: 'Sequencer failure: single sequencer vs Hydra',
        x: { title: 'time (ms)' }, y: { title: 'messages/s delivered (10 ms buckets)' }, series: data.failover, events: data.failoverEvents,
        caption: `${data.captions.failover}; ${data.setting}.`, finding: data.findings.failover,
        paper: [hydraNumbers.reroute, hydraNumbers.failover],
      },
    ],
  };
  return { group, json: { setting: data.setting, ...data.json } };
}
