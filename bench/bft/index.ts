import type { BenchOptions, BenchResult } from '../support/types.js';
import { bftReport } from '../../operator/report/bft.js';
import { runResource } from '../support/run-resource.js';
import { allCpu, ms, us } from '../support/units.js';
import { udpDatagramsSent } from '../support/udp-counter.js';
import { DEFAULT_ROUNDS, median, medianRun, rotated } from '../support/rounds.js';

const PROTOCOLS = ['neobft-hm', 'neobft-pk', 'pbft', 'unreplicated'] as const;
const CLIENTS = 8;

interface Latency {
  p50: number | null;
  p99: number | null;
}

interface Loaded {
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

async function loadedRun(protocol: string, seconds: number): Promise<Loaded> {
  const sentBefore = udpDatagramsSent();
  const r = await runResource(bftResource(protocol, CLIENTS, seconds), bftReport);
  const sentAfter = udpDatagramsSent();
  const committed = r.committed ?? 0;
  return {
    ops_per_s: r.ops_per_s,
    latency_s: r.latency_s,
    cpu_s_per_op: r.cpu_s_per_op,
    datagrams_per_op: sentBefore === null || sentAfter === null || committed === 0 ? null : (sentAfter - sentBefore) / committed,
    linearizable: r.linearizable === true,
  };
}

/**
 * `switchyard bench bft`: the same closed-loop key-value workload (8 clients) against NeoBFT-HM,
 * NeoBFT-PK, PBFT (f = 1, batching) and an unreplicated server, each a loopback testbed in the
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
  const hm = by('neobft-hm');
  const pbft = by('pbft');
  const hmRuns = runs.get('neobft-hm')!;
  const pbftRuns = runs.get('pbft')!;
  const perRound = (f: (h: Loaded, b: Loaded) => number) => hmRuns.map((h, i) => f(h, pbftRuns[i]!));
  const throughputRounds = perRound((h, b) => h.ops_per_s / b.ops_per_s);
  const latencyRounds = perRound((h, b) => (b.latency_s.p50 ?? NaN) / (h.latency_s.p50 ?? NaN));
  const bottleneckRounds = perRound((h, b) => (b.cpu_s_per_op.busiest_replica ?? NaN) / (h.cpu_s_per_op.busiest_replica ?? NaN));
  const ratioThroughput = median(throughputRounds);
  const ratioLatency = median(latencyRounds);
  const ratioBottleneck = median(bottleneckRounds);
  const ratioUnloaded = (pbft.unloaded_latency_s.p50 ?? NaN) / (hm.unloaded_latency_s.p50 ?? NaN);
  const listed = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
  return {
    name: 'bft',
    json: {
      rounds,
      ratio_throughput_neobft_hm_to_pbft: ratioThroughput,
      ratio_p50_latency_pbft_to_neobft_hm: ratioLatency,
      ratio_p50_latency_unloaded_pbft_to_neobft_hm: ratioUnloaded,
      ratio_busiest_replica_cpu_pbft_to_neobft_hm: ratioBottleneck,
      ratio_throughput_neobft_hm_to_pbft_rounds: throughputRounds,
      ratio_p50_latency_pbft_to_neobft_hm_rounds: latencyRounds,
      ratio_busiest_replica_cpu_pbft_to_neobft_hm_rounds: bottleneckRounds,
      protocols: points,
      targets: { neobft_hm_throughput_at_least_2x_pbft: ratioThroughput >= 2, neobft_hm_p50_at_most_a_third_of_pbft: ratioLatency >= 3 },
    },
    tables: [
      [`Closed loop, ${CLIENTS} clients (and one client alone), 4 replicas (f = 1), every member a process on loopback; the run of median throughput over ${rounds} round(s)`,
        ['protocol', 'ops/s', 'ops/s by round', 'p50', 'p99', 'p50 alone', 'busiest replica CPU/op', 'all CPU/op', 'datagrams/op', 'linearizable'],
        points.map((p) => [p.protocol, p.ops_per_s.toFixed(0), p.ops_per_s_rounds.map((x) => x.toFixed(0)).join(', '), ms(p.latency_s.p50), ms(p.latency_s.p99), ms(p.unloaded_latency_s.p50),
          us(p.cpu_s_per_op.busiest_replica), us(allCpu(p.cpu_s_per_op)),
          p.datagrams_per_op === null ? '—' : p.datagrams_per_op.toFixed(1), String(p.linearizable)])],
      ["Ratios (median over rounds; each round's runs back to back)", ['ratio', 'median', 'by round', 'target'], [
        ['NeoBFT-HM / PBFT throughput', ratioThroughput.toFixed(2), listed(throughputRounds), '≥ 2'],
        ['PBFT / NeoBFT-HM p50 latency', ratioLatency.toFixed(2), listed(latencyRounds), '≥ 3'],
        ['PBFT / NeoBFT-HM p50 latency, one client', ratioUnloaded.toFixed(2), '', ''],
        ['PBFT / NeoBFT-HM busiest replica CPU per op (throughput with a machine per replica)', ratioBottleneck.toFixed(2), listed(bottleneckRounds), ''],
      ]],
    ],
  };
}
