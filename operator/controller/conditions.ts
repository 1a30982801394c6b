import type { Condition } from '../schema/status.js';

/** Sets a condition, keeping its lastTransitionTime unless its status actually changed. */
export function setCondition(list: Condition[], next: Omit<Condition, 'lastTransitionTime'>, now: string): Condition[] {
  const prev = list.find((c) => c.type === next.type);
  const lastTransitionTime = prev && prev.status === next.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
  return [...list.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}
