import type { BenchOptions, BenchResult } from '../support/types.js';
import { bftReport } from '../../operator/report/bft.js';
import { hydraPaxosReport, hydraTxnReport } from '../../operator/report/hydra-apps.js';
import { runResource } from '../support/run-resource.js';
import { allCpu, ms, us } from '../support/units.js';
import { type Loaded, asLoaded, bftResource } from '../bft/index.js';
import { DEFAULT_ROUNDS, median, medianRun, rotated } from '../support/rounds.js';

interface Point {
  config: string;
  ops_per_s: number;
  latency_s: { p50: number | null; p99: number | null };
  /** Process CPU per committed op, by role (see `switchyard up`'s summary). */
  cpu_s_per_op: Record<string, number>;
  linearizable: boolean;
}

export const CLIENTS = 8;
/** What a configuration runs: a key-value or transaction service whose clients commit operations. */
type Service = typeof hydraPaxosReport | typeof hydraTxnReport | typeof bftReport;
/** Client counts below CLIENTS at which HydraPaxos-1 and the unreplicated server are also run once each. */
const CURVE_CLIENTS = [1, 2, 4];

/** A SequencerGroup running an application: one group of 3 replicas for HydraPaxos, 3 shards for HydraTxn. */
function sequencerGroup(name: string, seconds: number, spec: Record<string, unknown>, workload: Record<string, unknown> = {}) {
  return {
    apiVersion: 'switchyard.dev/v1alpha1', kind: 'SequencerGroup', metadata: { name },
    spec: { receiversPerGroup: 3, ...spec, workload: { clients: CLIENTS, keys: 1000, durationSeconds: seconds, ...workload } },
  };
}

/** The HydraPaxos key-value configurations (their SequencerGroups: paxosKvResource). */
export const HYDRAPAXOS_KV = ['hydrapaxos-1', 'hydrapaxos-2', 'hydrapaxos-4', 'nopaxos-style'] as const;
export type HydraPaxosKv = (typeof HYDRAPAXOS_KV)[number];

/**
 * HydraPaxos with 1, 2 or 4 sequencers, or NOPaxos-style (one sequencer, no periodic flushes, no
 * aggregator: plain serialization order), over one group of 3 replicas with `clients` closed-loop clients.
 */
export function paxosKvResource(config: HydraPaxosKv, seconds: number, clients = CLIENTS) {
  if (config === 'nopaxos-style') {
    return sequencerGroup('bench-nopaxos', seconds, { application: 'hydrapaxos', sequencers: 1, groups: 1, flush: { intervalMicros: 0, aggregation: false } }, { clients });
  }
  const sequencers = Number(config.split('-')[1]);
  return sequencerGroup(`bench-paxos-${sequencers}`, seconds, { application: 'hydrapaxos', sequencers, groups: 1 }, { clients });
}

/** HydraPaxos with one sequencer, one group of 3 replicas, `clients` closed-loop clients (bench paper runs it too). */
export const hydraPaxos1 = (seconds: number, clients = CLIENTS) => paxosKvResource('hydrapaxos-1', seconds, clients);

/** One loaded loopback run of a HydraPaxos key-value configuration (CLIENTS clients) for `seconds`. */
export const paxosKvRun = async (config: HydraPaxosKv, seconds: number): Promise<Loaded> =>
  asLoaded(await runResource(paxosKvResource(config, seconds), hydraPaxosReport));

/** HydraTxn over 3 shards of 3 replicas, 3 sequencers, `share` of the transactions on two shards (bench paper runs it too). */
export const hydraTxn = (seconds: number, share: number) =>
  sequencerGroup(`bench-txn-${share * 100}`, seconds, { application: 'hydratxn', sequencers: 3, groups: 3 }, { multiGroupShare: share });

/**
 * `switchyard bench hydra-apps`: the closed-loop key-value workload (8 clients) against HydraPaxos
 * with 1, 2 and 4 sequencers, a single-sequencer NOPaxos-style configuration (one sequencer, no
 * periodic flushes, no aggregator: plain serialization order) and the unreplicated server; a
 * load curve of HydraPaxos-1 against the unreplicated server at fewer clients; then HydraTxn over 3 shards with a growing share of two-shard transactions. Every configuration
 * is a loopback testbed of processes in the same run, so ratios compare like with like; the
 * key-value ones run in `--rounds` rounds (ratios per round, median reported: see rounds.ts).
 */
export async function benchHydraApps(opts: BenchOptions, log: (line: string) => void): Promise<BenchResult> {
  const seconds = opts.seconds ?? 6;
  const rounds = opts.rounds ?? DEFAULT_ROUNDS;
  const measure = async (title: string, config: string, resource: Record<string, unknown>, report: Service): Promise<Point> => {
    log(`${title}: ${seconds}s`);
    const r = await runResource(resource, report);
    const p = { config, ops_per_s: r.ops_per_s, latency_s: r.latency_s, cpu_s_per_op: r.cpu_s_per_op, linearizable: r.linearizable === true };
    log(`  ${p.ops_per_s.toFixed(0)} ops/s, p50 ${ms(p.latency_s.p50)}, p99 ${ms(p.latency_s.p99)}`);
    return p;
  };
  const kvConfigs: [string, Record<string, unknown>, Service][] = [
    ...HYDRAPAXOS_KV.map((config): [string, Record<string, unknown>, Service] => [config, paxosKvResource(config, seconds), hydraPaxosReport]),
    ['unreplicated', bftResource('unreplicated', CLIENTS, seconds), bftReport],
  ];
  // The key-value configurations run in rounds (rounds.ts): the ratios are taken per round.
  const runs = new Map<string, Point[]>(kvConfigs.map(([config]) => [config, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [config, resource, report] of rotated(kvConfigs, round)) runs.get(config)!.push(await measure(`round ${round + 1}/${rounds}, ${config}`, config, resource, report));
  }
  const kv: (Point & { ops_per_s_rounds: number[] })[] = kvConfigs.map(([config]) => {
    const mine = runs.get(config)!;
    return { ...medianRun(mine, (p) => p.ops_per_s), ops_per_s_rounds: mine.map((p) => p.ops_per_s), linearizable: mine.every((p) => p.linearizable) };
  });
  // The same comparison below saturation: with fewer clients both are bound by their hops, not by CPU.
  const curve = [];
  const at = (config: string) => kv.find((p) => p.config === config)!;
  for (const clients of [...CURVE_CLIENTS, CLIENTS]) {
    const [paxos, server] = clients === CLIENTS ? [at('hydrapaxos-1'), at('unreplicated')] : [
      await measure(`load curve, hydrapaxos-1, ${clients} client(s)`, 'hydrapaxos-1', hydraPaxos1(seconds, clients), hydraPaxosReport),
      await measure(`load curve, unreplicated, ${clients} client(s)`, 'unreplicated', bftResource('unreplicated', clients, seconds), bftReport),
    ];
    curve.push({
      clients, hydrapaxos_1: paxos, unreplicated: server, ratio_throughput: paxos.ops_per_s / server.ops_per_s,
      ratio_p50: (paxos.latency_s.p50 ?? NaN) / (server.latency_s.p50 ?? NaN),
    });
  }
  const txn: (Point & { multi_shard_share: number })[] = [];
  for (const share of [0, 0.25, 0.5, 1]) {
    const p = await measure(`hydratxn-${share}`, `hydratxn-${share}`, hydraTxn(seconds, share), hydraTxnReport);
    txn.push({ ...p, multi_shard_share: share });
  }
  // Per round: the best HydraPaxos configuration of that round against that round's unreplicated server.
  const perRound = [...Array(rounds).keys()].map((i) => {
    const unreplicated = runs.get('unreplicated')![i]!;
    const best = kvConfigs.filter(([c]) => c.startsWith('hydrapaxos-')).map(([c]) => runs.get(c)![i]!).reduce((a, b) => (b.ops_per_s > a.ops_per_s ? b : a));
    return {
      best: best.config,
      throughput: best.ops_per_s / unreplicated.ops_per_s,
      latency: (best.latency_s.p50 ?? NaN) / (unreplicated.latency_s.p50 ?? NaN),
      busiest: (unreplicated.cpu_s_per_op.busiest_replica ?? NaN) / (best.cpu_s_per_op.busiest_replica ?? NaN),
    };
  });
  const ratioThroughput = median(perRound.map((r) => r.throughput));
  const ratioLatency = median(perRound.map((r) => r.latency));
  const ratioBusiest = median(perRound.map((r) => r.busiest));
  const listed = (f: (r: (typeof perRound)[number]) => number) => perRound.map((r) => f(r).toFixed(2)).join(', ');
  const row = (p: Point) => [p.config, p.ops_per_s.toFixed(0), ms(p.latency_s.p50), ms(p.latency_s.p99),
    us(p.cpu_s_per_op.busiest_replica), us(allCpu(p.cpu_s_per_op)), String(p.linearizable)];
  return {
    name: 'hydra-apps',
    json: {
      ratio_throughput_hydrapaxos_to_unreplicated: ratioThroughput,
      ratio_p50_latency_hydrapaxos_to_unreplicated: ratioLatency,
      ratio_busiest_replica_cpu_unreplicated_to_hydrapaxos: ratioBusiest,
      rounds,
      // Each round's best HydraPaxos configuration and its ratios to that round's unreplicated server.
      ratio_rounds: perRound,
      kv,
      // HydraPaxos-1 and the unreplicated server at 1, 2, 4 clients (one run each) and at CLIENTS (the median runs above).
      load_curve: curve,
      hydratxn: txn,
      targets: { hydrapaxos_throughput_within_30pct: ratioThroughput >= 0.7, hydrapaxos_p50_within_2x: ratioLatency <= 2 },
    },
    tables: [
      [`Key-value, closed loop, ${CLIENTS} clients, 3 replicas (f = 1), every member a process on loopback; the run of median throughput over ${rounds} round(s)`,
        ['configuration', 'ops/s', 'ops/s by round', 'p50', 'p99', 'busiest replica CPU/op', 'all CPU/op', 'linearizable'],
        kv.map((p) => [p.config, p.ops_per_s.toFixed(0), p.ops_per_s_rounds.map((x) => x.toFixed(0)).join(', '), ...row(p).slice(2)])],
      [`Load curve: HydraPaxos-1 against the unreplicated server by closed-loop clients (one run each; ${CLIENTS}: the median runs above)`,
        ['clients', 'HydraPaxos-1 ops/s', 'p50', 'unreplicated ops/s', 'p50', 'throughput ratio', 'p50 ratio'],
        curve.map((c) => [String(c.clients), c.hydrapaxos_1.ops_per_s.toFixed(0), ms(c.hydrapaxos_1.latency_s.p50), c.unreplicated.ops_per_s.toFixed(0),
          ms(c.unreplicated.latency_s.p50), c.ratio_throughput.toFixed(2), c.ratio_p50.toFixed(2)])],
      [`HydraTxn, 3 shards × 3 replicas, 3 sequencers, ${CLIENTS} clients`, ['two-shard share', 'txn/s', 'p50', 'p99', 'busiest replica CPU/op', 'all CPU/op', 'linearizable'],
        txn.map((p) => [String(p.multi_shard_share), ...row(p).slice(1)])],
      [`Ratios (median over rounds; per round, that round's best HydraPaxos: ${perRound.map((r) => r.best).join(', ')})`, ['ratio', 'median', 'by round', 'target'], [
        ['HydraPaxos / unreplicated throughput', ratioThroughput.toFixed(2), listed((r) => r.throughput), '≥ 0.7'],
        ['HydraPaxos / unreplicated p50 latency', ratioLatency.toFixed(2), listed((r) => r.latency), '≤ 2'],
        ['unreplicated server / HydraPaxos busiest replica CPU per op (throughput with a machine per replica)', ratioBusiest.toFixed(2), listed((r) => r.busiest), ''],
      ]],
    ],
  };
}


