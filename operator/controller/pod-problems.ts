import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

/** Why one member pod cannot run, as Kubernetes reports it. */
export interface PodProblem {
  pod: string;
  /** The pod's or container's reason: CrashLoopBackOff, ImagePullBackOff, Unschedulable, Evicted, … */
  reason: string;
  /** What Kubernetes says about it, and the container's last termination (its message: the last log lines). */
  detail: string;
  /** Waiting for a node, as opposed to failing on one. */
  unschedulable: boolean;
}

/** Waiting reasons of a container on its normal way to running. */
const STARTING = new Set(['ContainerCreating', 'PodInitializing']);

/** Kubernetes alternates some reasons while a problem lasts; a problem keeps one name across them. */
const SAME_PROBLEM: Record<string, string> = { ErrImagePull: 'ImagePullBackOff' };

const oneLine = (s: string, max: number) => {
  const flat = s.trim().split(/\s*\n\s*/).join(' / ');
  return flat.length > max ? `…${flat.slice(flat.length - max)}` : flat;
};

function lastTermination(c: V1ContainerStatus): string {
  const t = c.lastState?.terminated;
  if (!t) return '';
  const what = [t.reason, `exit code ${t.exitCode}`].filter(Boolean).join(', ');
  return `; last termination: ${what}${t.message ? `: ${oneLine(t.message, 400)}` : ''}`;
}

/**
 * The problems of a testbed's pods that keep members from running: a pod the scheduler cannot
 * place (its PodScheduled condition), a container waiting for any reason but starting normally
 * (CrashLoopBackOff, ImagePullBackOff, CreateContainerConfigError, …), a container restarting
 * after an OOM kill, a failed (e.g. evicted) pod. Pods being deleted are not counted.
 */
export function podProblems(pods: V1Pod[]): PodProblem[] {
  const problems: PodProblem[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '?';
    if (pod.metadata?.deletionTimestamp) continue;
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      problems.push({ pod: name, reason: 'Unschedulable', detail: oneLine(scheduled.message ?? '', 400), unschedulable: true });
      continue;
    }
    if (pod.status?.phase === 'Failed') {
      problems.push({ pod: name, reason: pod.status.reason ?? 'Failed', detail: oneLine(pod.status.message ?? '', 400), unschedulable: false });
      continue;
    }
    for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      const waiting = c.state?.waiting;
      if (waiting?.reason && !STARTING.has(waiting.reason)) {
        const reason = SAME_PROBLEM[waiting.reason] ?? waiting.reason;
        // A crash loop's own message only counts the back-off; the termination says why it crashed.
        const said = reason === 'CrashLoopBackOff' ? '' : oneLine(waiting.message ?? '', 400);
        problems.push({ pod: name, reason, detail: `${said}${lastTermination(c)}`.replace(/^; /, ''), unschedulable: false });
        break;
      }
      if (!c.ready && c.lastState?.terminated?.reason === 'OOMKilled') {
        problems.push({ pod: name, reason: 'OOMKilled', detail: `restarted ${c.restartCount} times${lastTermination(c)}`, unschedulable: false });
        break;
      }
    }
  }
  return problems;
}

/**
 * The problems in words for a condition or an Event: one clause per distinct reason and detail,
 * naming its pods, e.g. `demo-sequencer-0: CrashLoopBackOff; last termination: Error, exit code 1:
 * switchyard: unknown BFTCluster member "sequencer"`.
 */
export function describeProblems(problems: PodProblem[], maxPods = 5): string {
  const groups = new Map<string, string[]>();
  for (const p of problems) {
    const key = `${p.reason}${p.detail ? ` (${p.detail})` : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), p.pod]);
  }
  return [...groups].map(([what, pods]) => {
    const named = pods.length > maxPods ? `${pods.slice(0, maxPods).join(', ')} and ${pods.length - maxPods} more` : pods.join(', ');
    return `${named}: ${what}`;
  }).join('; ');
}

/** A condition or Event reason for pods that cannot run: waiting for a node, or failing on one. */
export const problemReason = (problems: PodProblem[]) => (problems.every((p) => p.unschedulable) ? 'MembersUnschedulable' : 'MemberFailing');
