import type { BenchOptions, BenchResult } from '../bench.js';
import { runResource } from '../run-resource.js';

const PROTOCOLS = ['neobft-hm', 'neobft-pk', 'pbft', 'unreplicated'] as const;

interface Point {
  protocol: string;
  ops_per_s: number;
  latency_s: { p50: number | null; p99: number | null };
  linearizable: boolean;
}

/**
 * `switchyard bench bft`: the same closed-loop key-value workload (8 clients) against NeoBFT-HM,
 * NeoBFT-PK, PBFT (f = 1, batching) and an unreplicated server, each a loopback testbed in the
 * same run, so the ratios compare like with like on this machine.
 */
export async function benchBft(opts: BenchOptions, log: (line: string) => void): Promise<BenchResult> {
  const seconds = opts.seconds ?? 8;
  const points: Point[] = [];
  for (const protocol of PROTOCOLS) {
    log(`${protocol}: ${seconds}s`);
    const r = await runResource({
      apiVersion: 'switchyard.dev/v1alpha1', kind: 'BFTCluster', metadata: { name: `bench-${protocol}` },
      spec: { protocol, f: 1, replicas: 4, workload: { clients: 8, keySpace: 1000, durationSeconds: seconds } },
    });
    const point = { protocol, ops_per_s: r.ops_per_s as number, latency_s: r.latency_s as Point['latency_s'], linearizable: r.linearizable as boolean };
    log(`  ${point.ops_per_s.toFixed(0)} ops/s, p50 ${((point.latency_s.p50 ?? NaN) * 1e3).toFixed(3)} ms`);
    points.push(point);
  }
  const by = (p: string) => points.find((x) => x.protocol === p)!;
  const hm = by('neobft-hm');
  const pbft = by('pbft');
  const ratioThroughput = hm.ops_per_s / pbft.ops_per_s;
  const ratioLatency = (pbft.latency_s.p50 ?? NaN) / (hm.latency_s.p50 ?? NaN);
  const ms = (s: number | null) => (s === null ? '—' : `${(s * 1e3).toFixed(3)} ms`);
  return {
    name: 'bft',
    json: {
      ratio_throughput_neobft_hm_to_pbft: ratioThroughput,
      ratio_p50_latency_pbft_to_neobft_hm: ratioLatency,
      protocols: points,
      targets: { neobft_hm_throughput_at_least_2x_pbft: ratioThroughput >= 2, neobft_hm_p50_at_most_a_third_of_pbft: ratioLatency >= 3 },
    },
    tables: [
      ['Closed loop, 8 clients, 4 replicas (f = 1), every member a process on loopback', ['protocol', 'ops/s', 'p50', 'p99', 'linearizable'],
        points.map((p) => [p.protocol, p.ops_per_s.toFixed(0), ms(p.latency_s.p50), ms(p.latency_s.p99), String(p.linearizable)])],
      ['Ratios', ['ratio', 'value'], [
        ['NeoBFT-HM / PBFT throughput', ratioThroughput.toFixed(2)],
        ['PBFT / NeoBFT-HM p50 latency', ratioLatency.toFixed(2)],
      ]],
    ],
  };
}
