import type { NodeId } from '../../node/runtime/core.js';
import { type RecordedInput, recordInputs } from './recording.js';
import { type Samples, median, replayInputs } from './replay.js';
import { ROLES, type RoleName, TESTBEDS, type TestbedName } from './roles.js';

/** Inputs recorded from one run of a testbed, for every member of every role in it. */
export interface Recording {
  testbed: TestbedName;
  seed: number;
  inputs: Map<NodeId, RecordedInput[]>;
}

/** Role → message type → µs (the median over repetitions of each repetition's median). */
export type RoleCosts = Record<string, Record<string, number>>;

export interface RoleCalibration {
  costs: RoleCosts;
  /** Inputs timed per repetition, by role and type. */
  samples: Record<string, Record<string, number>>;
}

/** Runs `testbed` from `seed` and records what each member of its roles received. */
export function record(testbed: TestbedName, seed: number): Recording {
  const members = Object.values(ROLES).filter((r) => r.testbed === testbed).flatMap((r) => r.members);
  const tb = TESTBEDS[testbed].build(seed);
  return { testbed, seed, inputs: recordInputs(tb.net, members, TESTBEDS[testbed].runUs) };
}

/**
 * Inputs replayed, uncounted, before a role's repetitions: V8 optimises a function only after many
 * calls (with a few hundred, medians came out 2× high; HydraPaxos replicas settle after ≈ 30 000).
 * Roles whose inputs cost more (signatures) stop warming after WARM_UP_MS: their time is in code
 * that was hot long before.
 */
const WARM_UP_INPUTS = 30_000;
const WARM_UP_MS = 1000;

/**
 * Times `role`'s real core on the recorded inputs: each repetition builds the testbed afresh from
 * the recording's seed (same keys, same starting state) and replays every member's inputs into
 * its core. Repetitions until WARM_UP_INPUTS were replayed (or WARM_UP_MS passed) warm the JIT up
 * and are not counted.
 */
export function measureRole(role: RoleName, rec: Recording, reps: number): { costs: Record<string, number>; samples: Record<string, number> } {
  const { testbed, members } = ROLES[role];
  if (testbed !== rec.testbed) throw new Error(`role ${role} is calibrated from ${testbed}, not ${rec.testbed}`);
  const perRep: Map<string, number>[] = [];
  let samples: Samples = new Map();
  const inputs = members.reduce((n, m) => n + (rec.inputs.get(m)?.length ?? 0), 0);
  if (inputs === 0) throw new Error(`the recording of ${testbed} has no inputs for ${role}`);
  const replay = () => {
    const tb = TESTBEDS[testbed].build(rec.seed);
    samples = new Map();
    for (const m of members) replayInputs(tb.core(m), TESTBEDS[testbed].codec, rec.inputs.get(m) ?? [], samples);
  };
  const started = performance.now();
  for (let warmed = 0; warmed < WARM_UP_INPUTS && performance.now() - started < WARM_UP_MS; warmed += inputs) replay();
  for (let rep = 0; rep < reps; rep++) {
    replay();
    perRep.push(new Map([...samples].map(([type, us]) => [type, median(us)])));
  }
  const types = [...new Set(perRep.flatMap((m) => [...m.keys()]))].sort();
  return {
    costs: Object.fromEntries(types.map((t) => [t, median(perRep.flatMap((m) => m.get(t) ?? []))])),
    samples: Object.fromEntries(types.map((t) => [t, samples.get(t)?.length ?? 0])),
  };
}

/** Calibrates `roles` (all by default): one recording per testbed they use, then each role's costs. */
export function calibrateRoles(o: { roles?: RoleName[]; seed: number; reps: number }): RoleCalibration {
  const roles = o.roles ?? (Object.keys(ROLES) as RoleName[]);
  const recordings = new Map<TestbedName, Recording>();
  const out: RoleCalibration = { costs: {}, samples: {} };
  for (const role of roles) {
    const testbed = ROLES[role].testbed;
    if (!recordings.has(testbed)) recordings.set(testbed, record(testbed, o.seed));
    const m = measureRole(role, recordings.get(testbed)!, o.reps);
    out.costs[role] = m.costs;
    out.samples[role] = m.samples;
  }
  return out;
}
