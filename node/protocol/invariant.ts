/**
 * Invariant checks inside the protocol cores: the properties a core relies on (delivery never
 * moves back, executed slots stay in order, a view only advances, …), checked where they must
 * hold rather than only by the simulation checkers afterwards.
 *
 * By default a broken invariant throws an InvariantError, so a simulation seed or a unit test
 * fails at the broken step and replays there. A running member installs a reporter instead
 * (`reportInvariantViolations`, done once by the runtime for the member's process): the
 * violation is counted (`switchyard_invariant_violations_total{what}`) and logged, and the
 * member keeps serving rather than crash-looping on a bug.
 */

/** A property a core relies on was found broken: `what` names it (the metric's label), `detail` says where. */
export class InvariantError extends Error {
  constructor(readonly what: string, readonly detail: string) {
    super(`invariant ${what} broken: ${detail}`);
    this.name = 'InvariantError';
  }
}

export type InvariantReporter = (what: string, detail: string) => void;

let reporter: InvariantReporter | null = null;

/**
 * Makes this process count and log broken invariants instead of throwing (a running member;
 * never a simulation or test). Returns a function that restores throwing.
 */
export function reportInvariantViolations(report: InvariantReporter): () => void {
  reporter = report;
  return () => {
    if (reporter === report) reporter = null;
  };
}

/**
 * Checks that `cond` holds; `detail` (evaluated only on failure) says where it broke. Returns
 * `cond`, so that in a running member the caller may leave a step it cannot take safely.
 */
export function invariant(cond: boolean, what: string, detail: () => string): boolean {
  if (cond) return true;
  const d = detail();
  if (!reporter) throw new InvariantError(what, d);
  reporter(what, d);
  return false;
}
