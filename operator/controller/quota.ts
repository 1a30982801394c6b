import type { V1ResourceQuota } from '@kubernetes/client-node';
import { quantityToScalar } from '@kubernetes/client-node/dist/util.js';
import type { Plan } from '../plan/types.js';

const scalar = (q: string | undefined) => (q === undefined ? 0 : Number(quantityToScalar(q)));

/**
 * What only the operator can judge: whether the whole testbed fits the namespace's quotas. A
 * testbed that can't fit is refused up front with a reason, rather than left half-created
 * with pods that never schedule.
 */
export function quotaProblems(plan: Plan, quotas: V1ResourceQuota[]): string[] {
  const pods = plan.workloads.reduce((n, w) => n + w.replicas, 0);
  const need: Record<string, number> = {
    pods,
    'count/pods': pods,
    'requests.cpu': pods * scalar(plan.resources.requests.cpu),
    'requests.memory': pods * scalar(plan.resources.requests.memory),
    'limits.memory': pods * scalar(plan.resources.limits.memory),
    'count/statefulsets.apps': plan.workloads.length,
  };
  const problems: string[] = [];
  for (const q of quotas) {
    for (const [resource, hard] of Object.entries(q.spec?.hard ?? {})) {
      const wanted = need[resource];
      if (wanted !== undefined && wanted > scalar(hard)) {
        problems.push(`ResourceQuota ${q.metadata?.name} allows ${resource}=${hard}, the testbed needs ${resource === 'requests.memory' || resource === 'limits.memory' ? `${Math.ceil(wanted / 2 ** 20)}Mi` : wanted}`);
      }
    }
  }
  return problems;
}
