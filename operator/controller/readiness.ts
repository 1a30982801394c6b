import type { Condition } from '../schema/status.js';
import { type PodProblem, describeProblems, problemReason } from './pod-problems.js';

type Judgement = Pick<Condition, 'status' | 'reason' | 'message'>;

/** What the operator saw of a testbed in one pass. */
export interface Observed {
  roles: Record<string, { expected: number; ready: number }>;
  members: { expected: number; ready: number };
  /** Workloads whose pods are not all at the current template. */
  rolling: string[];
  problems: PodProblem[];
  /** The protocol's progress, judged from the members' counters (null: not judged). */
  progress: { state: 'waiting' | 'progressing' | 'stalled' | 'unknown'; message: string } | null;
}

const MAX_MESSAGE = 2000;
const clip = (s: string) => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s);

/**
 * `Ready`: True only when every member is ready and the protocol is not known to be stalled.
 * In order: members that cannot run (MemberFailing, MembersUnschedulable, naming pods and
 * reasons), members not ready yet (MembersNotReady), no progress (ProtocolStalled), progress
 * unreadable (Unknown, ProgressUnknown), else AllMembersReady.
 */
export function readiness(o: Observed): Judgement {
  if (o.problems.length > 0) return { status: 'False', reason: problemReason(o.problems), message: clip(describeProblems(o.problems)) };
  const waiting = Object.entries(o.roles).filter(([, c]) => c.ready < c.expected).map(([role, c]) => `${role} ${c.ready}/${c.expected}`);
  if (waiting.length > 0) return { status: 'False', reason: 'MembersNotReady', message: `waiting for ${waiting.join(', ')}` };
  if (o.progress?.state === 'stalled') return { status: 'False', reason: 'ProtocolStalled', message: clip(o.progress.message) };
  if (o.progress?.state === 'unknown') return { status: 'Unknown', reason: 'ProgressUnknown', message: clip(o.progress.message) };
  const moving = o.progress?.state === 'progressing' ? `; ${o.progress.message}` : '';
  return { status: 'True', reason: 'AllMembersReady', message: `${o.members.ready}/${o.members.expected} members ready${moving}` };
}

/**
 * `Progressing`: True while pods roll out or start; False when they are stuck (the reason of
 * `Ready`), or stable.
 */
export function progressing(o: Observed): Judgement {
  if (o.problems.length > 0) return { status: 'False', reason: problemReason(o.problems), message: 'members cannot start or keep running (see the Ready condition)' };
  if (o.rolling.length > 0) return { status: 'True', reason: 'RollingOut', message: `updating ${o.rolling.join(', ')}` };
  if (o.members.ready < o.members.expected) return { status: 'True', reason: 'StartingMembers', message: `${o.members.ready}/${o.members.expected} members ready` };
  return { status: 'False', reason: 'Stable', message: 'every workload is at its desired state' };
}
