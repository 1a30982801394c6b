import type { VrObserver } from './replica.js';

/**
 * Checks a replica group's safety as the simulation runs (Viewstamped Replication Revisited §8's
 * correctness conditions): every replica that commits op n commits the same command there and
 * reaches the same state; a snapshot taken at op n is that same state; no replica undoes a
 * commit; and whatever a replica reports as an invariant it found broken or a message it refused. `progress` of a state
 * (e.g. its configuration number) may only grow at each replica.
 */
export class ReplicationChecker<S, C> {
  readonly problems: string[] = [];
  private readonly commands = new Map<number, string>();
  private readonly states = new Map<number, string>();
  /** Per replica boot: its highest commit and progress. */
  private readonly boots = new Map<string, { commit: number; progress: number }>();

  constructor(
    private readonly keyOf: { command(c: C): string; state(s: S): string },
    private readonly progress: (s: S) => number,
  ) {}

  /** An observer for one boot of one replica; `now` reads the simulated time for messages. */
  observer(replica: number, boot: number, now: () => number): Omit<VrObserver<S, C>, 'normal' | 'changingView'> {
    const at = `replica ${replica} (boot ${boot})`;
    const b = { commit: 0, progress: 0 };
    this.boots.set(`${replica}/${boot}`, b);
    const reached = (op: number, state: S, how: string) => {
      if (op <= b.commit) this.problems.push(`${now()} µs ${at}: ${how} op ${op} after committing op ${b.commit}`);
      b.commit = op;
      const key = this.keyOf.state(state);
      const known = this.states.get(op);
      if (known === undefined) this.states.set(op, key);
      else if (known !== key) this.problems.push(`${now()} µs ${at}: state after op ${op} differs from another replica's`);
      const p = this.progress(state);
      if (p < b.progress) this.problems.push(`${now()} µs ${at}: went back from ${b.progress} to ${p} at op ${op}`);
      b.progress = p;
    };
    return {
      applied: (op, command, state) => {
        const key = this.keyOf.command(command);
        const known = this.commands.get(op);
        if (known === undefined) this.commands.set(op, key);
        else if (known !== key) this.problems.push(`${now()} µs ${at}: committed a different command at op ${op} than another replica`);
        reached(op, state, 'committed');
      },
      adopted: (commit, state) => reached(commit, state, 'adopted a snapshot at'),
      invariantViolated: (kind, detail) => this.problems.push(`${now()} µs ${at}: invariant ${kind}: ${detail}`),
      // The simulation sends nothing malformed: a rejection is a bug.
      rejected: (reason, detail) => this.problems.push(`${now()} µs ${at}: rejected (${reason}) ${detail}`),
    };
  }

  /** Ops committed by some replica. */
  get decided(): number {
    return this.commands.size;
  }
}
