import { type PodProblem, describeProblems, problemReason } from './pod-problems.js';

/**
 * Which pod problems of each testbed a Warning Event has already told: a problem is told when
 * it appears, not again while it lasts (however often the testbed is observed), and again if it
 * comes back after it went away.
 */
export class WarningMemory {
  private readonly told = new Map<string, Set<string>>();

  /** The problems of `testbed` not told yet, as an Event's reason and message ('' when none). */
  fresh(testbed: string, problems: PodProblem[]): { reason: string; message: string } {
    const before = this.told.get(testbed) ?? new Set<string>();
    const id = (p: PodProblem) => `${p.pod}/${p.reason}`;
    const news = problems.filter((p) => !before.has(id(p)));
    this.told.set(testbed, new Set(problems.map(id)));
    if (news.length === 0) return { reason: '', message: '' };
    return { reason: problemReason(news), message: describeProblems(news) };
  }

  forget(testbed: string): void {
    this.told.delete(testbed);
  }
}
