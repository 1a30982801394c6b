import { hydraReport } from '../../operator/report/hydra.js';
import { runResource } from '../support/run-resource.js';

export interface TestbedPoint {
  sequencers: number;
  offered_per_s: number;
  ordered_per_s: number;
  delay_p50_s: number | null;
  delay_p99_s: number | null;
  end_to_end_p50_s: number | null;
}

/** Runs a whole SequencerGroup testbed on loopback (every member a process) at one offered load. */
export async function runTestbed(sequencers: number, offeredPerS: number, seconds: number): Promise<TestbedPoint> {
  const clients = 2;
  const result = await runResource({
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'SequencerGroup',
    metadata: { name: `bench-${sequencers}` },
    spec: {
      sequencers, groups: 1, receiversPerGroup: 3, failureTimeoutMillis: 1000,
      flush: { intervalMicros: 1000, aggregation: true },
      workload: { clients, ratePerClient: Math.ceil(offeredPerS / clients), payloadBytes: 64, multiGroupShare: 0, durationSeconds: seconds },
    },
  }, hydraReport);
  return {
    sequencers,
    offered_per_s: offeredPerS,
    ordered_per_s: result.ops_per_s,
    delay_p50_s: result.latency_s.p50,
    delay_p99_s: result.latency_s.p99,
    end_to_end_p50_s: result.end_to_end_s.p50,
  };
}
