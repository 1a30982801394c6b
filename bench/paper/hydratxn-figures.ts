import type { Figure, Series } from './figure.js';
import type { TxnLoopbackPoint } from './hydratxn-loopback.js';
import { TXN_SEQUENCERS, TXN_SHARDS } from '../model/roles.js';
import type { TxnPlan, TxnPoint } from './hydratxn-source.js';
import { hydraPaxosNumbers } from './paper-numbers.js';

const pct = (share: number) => `${(share * 100).toFixed(0)} %`;
const at = (points: { share: number; ops_per_s: number; p50_us: number }[]) =>
  points.map((p) => `${pct(p.share)} ${p.ops_per_s.toFixed(0)} txn/s (p50 ${p.p50_us.toFixed(0)} µs)`).join(', ');

/** Throughput at the largest share against none: how much two-shard transactions cost. */
export function txnFall(points: { share: number; ops_per_s: number }[]): number | null {
  const none = points.find((p) => p.share === 0);
  const most = points.find((p) => p.share === Math.max(...points.map((q) => q.share)));
  return none && most && most !== none ? most.ops_per_s / none.ops_per_s : null;
}

/** HydraTxn's figure: throughput vs the share of two-shard transactions, modelled and (if run) on loopback. */
export function hydraTxnFigure(plan: TxnPlan, model: TxnPoint[], loopback: TxnLoopbackPoint[], setting: string): Figure {
  const series: Series[] = [{ name: `HydraTxn, ${plan.clients} clients`, source: 'model', points: model.map((p) => ({ x: p.share, y: p.ops_per_s })) }];
  if (loopback.length) series.push({ name: `HydraTxn, ${loopback[0]!.clients} clients`, source: 'loopback', points: loopback.map((p) => ({ x: p.share, y: p.ops_per_s })) });
  const fall = (points: { share: number; ops_per_s: number }[]) => {
    const f = txnFall(points);
    return f === null ? 'not run' : `${f.toFixed(2)}× the throughput with none`;
  };
  return {
    id: 'hydratxn-throughput-vs-multishard', kind: 'line',
    title: `HydraTxn: throughput vs share of two-shard transactions (${TXN_SHARDS} shards × 3 replicas)`,
    x: { title: 'share of two-shard transactions' }, y: { title: 'throughput (txn/s)' },
    series,
    caption: `closed-loop transaction clients (${plan.clients} modelled), ${TXN_SEQUENCERS} sequencers, periodic flushes every 1 ms and the flush aggregator in hardware, `
      + `shares ${plan.shares.map(pct).join(', ')}, each point ${plan.window.lengthUs / 1e3} ms of virtual time after ${plan.window.warmUs / 1e3} ms of warm-up, seed ${plan.seed}; `
      + `a two-shard transaction is ordered by Hydra to both shards and completes when both have answered; ${setting}; `
      + `loopback points: bench hydra-apps' HydraTxn runner${loopback.length ? `, ${loopback[0]!.seconds} s each` : ' (not run)'}`,
    finding: `modelled ${at(model)}; at the largest share ${fall(model)} (loopback: ${loopback.length ? `${at(loopback)}; ${fall(loopback)}` : 'not run'})`,
    paper: [hydraPaxosNumbers.hydrapaxos],
  };
}
