import type { V1Pod } from '@kubernetes/client-node';
import type { Plan } from '../plan/types.js';
import { METRICS_PORT } from '../render/render.js';
import type { MemberAccess } from '../report/access.js';
import type { Cluster } from './cluster.js';

/** One planned member and the pod that runs it (DESIGN.md, Kubernetes contract: a StatefulSet per role). */
export interface MemberPod {
  member: string;
  /** `<resource>-<workload>-<ordinal>`: the members of a workload in plan order are its ordinals. */
  podName: string;
  pod: V1Pod | undefined;
}

/** The pods of a testbed's members, by the plan; a member whose pod does not exist has `pod` undefined. */
export function memberPods(plan: Plan, pods: V1Pod[]): MemberPod[] {
  const byName = new Map(pods.map((p) => [p.metadata?.name, p]));
  const ordinal = new Map<string, number>();
  return plan.members.map((m) => {
    const i = ordinal.get(m.workload) ?? 0;
    ordinal.set(m.workload, i + 1);
    const podName = `${plan.name}-${m.workload}-${i}`;
    return { member: m.name, podName, pod: byName.get(podName) };
  });
}

export const isReady = (pod: V1Pod | undefined): boolean =>
  !!pod && !pod.metadata?.deletionTimestamp && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/**
 * Why a member's pod is not Ready, naming the pod, its phase and the reasons Kubernetes gives
 * (a container waiting in CrashLoopBackOff or ImagePullBackOff, its last termination,
 * Unschedulable, eviction); null when it is Ready.
 */
export function podProblem(m: MemberPod, plan: Plan): string | null {
  const pod = m.pod;
  if (!pod) return `pod ${m.podName} (member ${m.member}) does not exist (StatefulSet ${plan.name}-${plan.members.find((x) => x.name === m.member)!.workload})`;
  if (isReady(pod)) return null;
  const s = pod.status;
  const reasons: string[] = [];
  if (pod.metadata?.deletionTimestamp) reasons.push('terminating');
  if (s?.reason) reasons.push(`${s.reason}${s.message ? `: ${s.message}` : ''}`);
  const scheduled = s?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') reasons.push(`${scheduled.reason ?? 'not scheduled'}${scheduled.message ? `: ${scheduled.message}` : ''}`);
  for (const c of [...(s?.initContainerStatuses ?? []), ...(s?.containerStatuses ?? [])]) {
    const waiting = c.state?.waiting;
    const terminated = c.state?.terminated ?? c.lastState?.terminated;
    if (waiting) reasons.push(`container ${c.name} ${waiting.reason ?? 'waiting'}${waiting.message ? `: ${waiting.message}` : ''}`);
    if (terminated) {
      const last = c.state?.terminated ? 'terminated' : 'last terminated';
      reasons.push(`container ${c.name} ${last}: ${terminated.reason ?? 'exit'} (exit code ${terminated.exitCode})${terminated.message ? `: ${terminated.message.trim().split('\n').at(-1)}` : ''}`);
    }
    if (c.restartCount > 0) reasons.push(`container ${c.name} restarted ${c.restartCount} times`);
  }
  if (reasons.length === 0) {
    const ready = s?.conditions?.find((c) => c.type === 'Ready');
    reasons.push(ready?.reason ? `${ready.reason}${ready.message ? `: ${ready.message}` : ''}` : 'not Ready');
  }
  return `pod ${m.podName} (member ${m.member}) is ${s?.phase ?? 'Unknown'}, not Ready: ${reasons.join('; ')}`;
}

/** The port a member pod serves its metrics on: its container port named `metrics` (the renderer's METRICS_PORT). */
export function metricsPort(pod: V1Pod | undefined): number {
  for (const c of pod?.spec?.containers ?? []) {
    const port = c.ports?.find((p) => p.name === 'metrics');
    if (port) return port.containerPort;
  }
  return METRICS_PORT;
}

/**
 * Members reached through the API server's pod proxy
 * (`/api/v1/namespaces/NS/pods/POD:PORT/proxy/PATH`): works from outside the cluster, with the
 * caller's credentials (it needs get on pods/proxy).
 */
export function podProxyAccess(cluster: Cluster, namespace: string, members: MemberPod[]): MemberAccess {
  const byMember = new Map(members.map((m) => [m.member, m]));
  return {
    async getJson(member, path, timeoutMs) {
      const m = byMember.get(member);
      if (!m?.pod) throw new Error(`${member} has no pod`);
      if (!m.pod.status?.podIP) throw new Error(`pod ${m.podName} has no IP (${m.pod.status?.phase ?? 'Unknown'})`);
      const apiPath = `/api/v1/namespaces/${namespace}/pods/${m.podName}:${metricsPort(m.pod)}/proxy${path}`;
      const res = await cluster.get(apiPath, timeoutMs);
      if (res.status !== 200) throw new Error(`GET ${apiPath} answered ${res.status}: ${proxyMessage(res.body)}`);
      try {
        return JSON.parse(res.body);
      } catch {
        throw new Error(`GET ${apiPath} did not answer JSON: ${res.body.slice(0, 120)}`);
      }
    },
  };
}

/** The message of a Kubernetes Status body (the proxy's own errors), else the body's first line. */
function proxyMessage(body: string): string {
  try {
    const s = JSON.parse(body) as { message?: string };
    if (s.message) return s.message;
  } catch {
    // not a Status: the member's own answer
  }
  return body.trim().split('\n')[0]!.slice(0, 200);
}
