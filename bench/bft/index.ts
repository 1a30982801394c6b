import type { BenchOptions, BenchResult } from '../support/types.js';
import { bftReport } from '../../operator/report/bft.js';
import { runResource } from '../support/run-resource.js';
import { allCpu, ms, us } from '../support/units.js';
import { DEFAULT_ROUNDS, median, medianRun, rotated } from '../support/rounds.js';

const BASELINES = ['pbft', 'hotstuff', 'zyzzyva'] as const;
type BaselineName = (typeof BASELINES)[number];
const PROTOCOLS = ['neobft-hm', 'neobft-pk', ...BASELINES, 'unreplicated'] as const;
const NAMES: Record<BaselineName, string> = { pbft: 'PBFT', hotstuff: 'HotStuff', zyzzyva: 'Zyzzyva' };
/** The NeoBFT paper's NeoBFT-HM against each baseline (docs/neobft.md, "Numbers from the papers"): peak throughput ratio, latency ratio. */
const PAPER: Record<BaselineName, { throughput: string; latency: string }> = {
  pbft: { throughput: '2.5×', latency: '14.68×' },
  hotstuff: { throughput: '3.4×', latency: '42.28×' },
  zyzzyva: { throughput: '1.8×', latency: '8.56×' },
};
/** Closed-loop clients of every loaded run. */
export const CLIENTS = 8;

interface Latency {
  p50: number | null;
  p99: number | null;
}

export interface Loaded {
  ops_per_s: number;
  latency_s: Latency;
  /** Process CPU per committed op, by role (see `switchyard up`'s summary). */
  cpu_s_per_op: Record<string, number>;
  /** UDP datagrams the machine sent per committed op (every member shares the loopback). */
  datagrams_per_op: number | null;
  linearizable: boolean;
}

/** A protocol's run of median throughput over the rounds, with every round's throughput and the one-client latency. */
interface Point extends Loaded {
  protocol: string;
  ops_per_s_rounds: number[];
  /** One client alone: the protocol's own delay, without queueing behind other requests. */
  unloaded_latency_s: Latency;
}

/** A BFTCluster testbed of `protocol` with f = 1 (the unreplicated server is its n = 1 case), as every bench compares it. */
export const bftResource = (protocol: string, clients: number, seconds: number) => ({
  apiVersion: 'switchyard.dev/v1alpha1', kind: 'BFTCluster', metadata: { name: `bench-${protocol}` },
  spec: { protocol, f: 1, replicas: 4, workload: { clients, keySpace: 1000, durationSeconds: seconds } },
});

/** One loaded loopback run of `protocol` (CLIENTS clients) for `seconds`. */
export async function loadedRun(protocol: string, seconds: number): Promise<Loaded> {
  return asLoaded(await runResource(bftResource(protocol, CLIENTS, seconds), bftReport));
}

/** A loaded run's fields from `switchyard up`'s result (bench bft's and bench hydra-apps' reports both have them). */
export const asLoaded = (r: Omit<Loaded, 'linearizable'> & { linearizable?: unknown }): Loaded => ({
  ops_per_s: r.ops_per_s,
  latency_s: r.latency_s,
  cpu_s_per_op: r.cpu_s_per_op,
  datagrams_per_op: r.datagrams_per_op,
  linearizable: r.linearizable === true,
});

/**
 * `switchyard bench bft`: the same closed-loop key-value workload (8 clients) against NeoBFT-HM,
 * NeoBFT-PK, the baselines (f = 1, batching) and an unreplicated server, each a loopback testbed in the
 * same run, in `--rounds` rounds (ratios per round, median reported: see rounds.ts); then each
 * with one client, for the latency of the protocol itself. Every member shares this machine's
 * cores, so the loaded throughput is bound by the CPU all of them spend per op (clients and
 * sequencer included); the busiest replica's CPU per op is what would bound it with a machine
 * per replica and the sequencer in the switch, as in the NeoBFT paper, and is reported beside it.
 */
export async function benchBft(opts: BenchOptions, log: (line: string) => void): Promise<BenchResult> {
  const seconds = opts.seconds ?? 8;
  const rounds = opts.rounds ?? DEFAULT_ROUNDS;
  const runs = new Map<string, Loaded[]>(PROTOCOLS.map((p) => [p, []]));
  for (let round = 0; round < rounds; round++) {
    for (const protocol of rotated(PROTOCOLS, round)) {
      log(`round ${round + 1}/${rounds}, ${protocol}: ${seconds}s with ${CLIENTS} clients`);
      const run = await loadedRun(protocol, seconds);
      log(`  ${run.ops_per_s.toFixed(0)} ops/s, p50 ${ms(run.latency_s.p50)}, all CPU ${us(allCpu(run.cpu_s_per_op))}/op, busiest replica ${us(run.cpu_s_per_op.busiest_replica)}/op`);
      runs.get(protocol)!.push(run);
    }
  }
  const points: Point[] = [];
  for (const protocol of PROTOCOLS) {
    log(`${protocol}: ${seconds}s with one client`);
    const alone = await runResource(bftResource(protocol, 1, seconds), bftReport);
    const mine = runs.get(protocol)!;
    points.push({
      protocol,
      ...medianRun(mine, (r) => r.ops_per_s),
      ops_per_s_rounds: mine.map((r) => r.ops_per_s),
      unloaded_latency_s: alone.latency_s,
      linearizable: mine.every((r) => r.linearizable) && alone.linearizable === true,
    });
    log(`  alone p50 ${ms(points.at(-1)!.unloaded_latency_s.p50)}`);
  }
  const by = (p: string) => points.find((x) => x.protocol === p)!;
  const compared = BASELINES.map((b) => compare(by('neobft-hm'), by(b), runs.get('neobft-hm')!, runs.get(b)!));
  const pbft = compared[0]!;
  const listed = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
  return {
    name: 'bft',
    json: {
      rounds,
      ...Object.fromEntries(BASELINES.flatMap((b, i) => ratioFields(b, compared[i]!))),
      protocols: points,
      targets: { neobft_hm_throughput_at_least_2x_pbft: pbft.throughput >= 2, neobft_hm_p50_at_most_a_third_of_pbft: pbft.latency >= 3 },
    },
    tables: [
      [`Closed loop, ${CLIENTS} clients (and one client alone), 4 replicas (f = 1), every member a process on loopback; the run of median throughput over ${rounds} round(s)`,
        ['protocol', 'ops/s', 'ops/s by round', 'p50', 'p99', 'p50 alone', 'busiest replica CPU/op', 'all CPU/op', 'datagrams/op', 'linearizable'],
        points.map((p) => [p.protocol, p.ops_per_s.toFixed(0), p.ops_per_s_rounds.map((x) => x.toFixed(0)).join(', '), ms(p.latency_s.p50), ms(p.latency_s.p99), ms(p.unloaded_latency_s.p50),
          us(p.cpu_s_per_op.busiest_replica), us(allCpu(p.cpu_s_per_op)),
          p.datagrams_per_op === null ? '—' : p.datagrams_per_op.toFixed(1), String(p.linearizable)])],
      ["Ratios to each baseline (median over rounds; each round's runs back to back); the NeoBFT paper's figures beside them", ['ratio', 'median', 'by round', 'paper'],
        BASELINES.flatMap((b, i) => {
          const c = compared[i]!;
          const name = NAMES[b];
          return [
            [`NeoBFT-HM / ${name} throughput`, c.throughput.toFixed(2), listed(c.throughputRounds), PAPER[b].throughput],
            [`${name} / NeoBFT-HM p50 latency`, c.latency.toFixed(2), listed(c.latencyRounds), ''],
            [`${name} / NeoBFT-HM p50 latency, one client`, c.unloaded.toFixed(2), '', PAPER[b].latency],
            [`${name} / NeoBFT-HM busiest replica CPU per op (throughput with a machine per replica)`, c.bottleneck.toFixed(2), listed(c.bottleneckRounds), ''],
          ];
        })],
    ],
  };
}

/** NeoBFT-HM against one baseline: per-round ratios of back-to-back runs, and their medians. */
function compare(hm: Point, base: Point, hmRuns: Loaded[], baseRuns: Loaded[]) {
  const perRound = (f: (h: Loaded, b: Loaded) => number) => hmRuns.map((h, i) => f(h, baseRuns[i]!));
  const throughputRounds = perRound((h, b) => h.ops_per_s / b.ops_per_s);
  const latencyRounds = perRound((h, b) => (b.latency_s.p50 ?? NaN) / (h.latency_s.p50 ?? NaN));
  const bottleneckRounds = perRound((h, b) => (b.cpu_s_per_op.busiest_replica ?? NaN) / (h.cpu_s_per_op.busiest_replica ?? NaN));
  return {
    throughput: median(throughputRounds), throughputRounds,
    latency: median(latencyRounds), latencyRounds,
    bottleneck: median(bottleneckRounds), bottleneckRounds,
    unloaded: (base.unloaded_latency_s.p50 ?? NaN) / (hm.unloaded_latency_s.p50 ?? NaN),
  };
}

/** The JSON fields of one comparison (`ratio_throughput_neobft_hm_to_pbft`, …). */
function ratioFields(b: string, c: ReturnType<typeof compare>): [string, number | number[]][] {
  return [
    [`ratio_throughput_neobft_hm_to_${b}`, c.throughput],
    [`ratio_p50_latency_${b}_to_neobft_hm`, c.latency],
    [`ratio_p50_latency_unloaded_${b}_to_neobft_hm`, c.unloaded],
    [`ratio_busiest_replica_cpu_${b}_to_neobft_hm`, c.bottleneck],
    [`ratio_throughput_neobft_hm_to_${b}_rounds`, c.throughputRounds],
    [`ratio_p50_latency_${b}_to_neobft_hm_rounds`, c.latencyRounds],
    [`ratio_busiest_replica_cpu_${b}_to_neobft_hm_rounds`, c.bottleneckRounds],
  ];
}
