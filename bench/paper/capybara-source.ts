import { FIG8_MODES, fig8Timing, runFig8 } from '../capybara/fig8.js';
import { STATE_SIZES_KB, type StatePoint, runStateSizes } from '../capybara/states.js';
import type { WorkloadPoint } from '../capybara/workload.js';

/** How much a run of the Capybara figures does: `--quick` does less. */
export interface CapybaraPlan {
  /** Length of each loopback run's measurement window. */
  seconds: number;
  stateSizesKb: readonly number[];
  modes: readonly string[];
}

export const capybaraPlan = (quick: boolean, seconds?: number): CapybaraPlan => quick
  ? { seconds: seconds ?? 3, stateSizesKb: [0, 64], modes: FIG8_MODES }
  : { seconds: seconds ?? 8, stateSizesKb: STATE_SIZES_KB, modes: FIG8_MODES };

/** The loopback runs behind the Capybara figures: the same testbeds as `bench capybara`'s. */
export interface CapybaraRuns {
  seconds: number;
  /** Seconds into the measurement window at which server 0's connections step up. */
  stepInWindow: number;
  /** Requests/s the Fig. 8 client offers after the step. */
  offeredAfterStep: number;
  states: StatePoint[];
  fig8: WorkloadPoint[];
}

/** Runs the state-size testbeds and one Fig. 8 testbed per mode. */
export async function capybaraRuns(plan: CapybaraPlan, log: (line: string) => void): Promise<CapybaraRuns> {
  const states = await runStateSizes(plan.stateSizesKb, plan.seconds, log);
  const fig8: WorkloadPoint[] = [];
  for (const mode of plan.modes) fig8.push(await runFig8(`paper-capy-fig8-${mode}`, mode, plan.seconds, log));
  const { stepInWindow, offeredAfterStep } = fig8Timing(plan.seconds);
  return { seconds: plan.seconds, stepInWindow, offeredAfterStep, states, fig8 };
}
