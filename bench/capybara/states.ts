import { fmtSeconds } from '../../operator/report/format.js';
import { capybaraReport } from '../../operator/report/capybara.js';
import { runResource } from '../support/run-resource.js';
import { service } from './service.js';

export type Phases = Record<string, { p50: number | null; p99: number | null }>;

export interface StatePoint {
  state_kb: number;
  migrations: number;
  phases_s: Phases;
}

/** The session sizes `bench capybara` migrates (the session's blob travels in CONN_STATE). */
export const STATE_SIZES_KB = [0, 16, 64, 128] as const;

/**
 * Migration phases by session size, one loopback testbed of `seconds` per size: 2 servers each
 * migrating a random connection every 20 ms, under a light load (20 connections at 2k req/s).
 */
export async function runStateSizes(sizesKb: readonly number[], seconds: number, log: (line: string) => void): Promise<StatePoint[]> {
  const states: StatePoint[] = [];
  for (const kb of sizesKb) {
    log(`state ${kb} KiB: ${seconds}s`);
    const r = await runResource(service(`bench-capy-state-${kb}`, seconds, { servers: 2, migration: { forcedEveryMillis: 20 } }, {
      clients: 1, connectionsPerClient: 20, ratePerClient: 2000, stateBytes: kb * 1024, step: { atSeconds: null },
    }), capybaraReport);
    const p: StatePoint = { state_kb: kb, migrations: r.migrations, phases_s: r.migration_phases_s };
    log(`  ${p.migrations} migrations, blackout p50 ${fmtSeconds(p.phases_s.blackout!.p50)}, total p50 ${fmtSeconds(p.phases_s.total!.p50)}`);
    states.push(p);
  }
  return states;
}
