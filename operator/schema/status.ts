import { z } from 'zod';

/** A status condition, as the Kubernetes API conventions define it. */
export const condition = z.strictObject({
  type: z.string().max(64),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().max(128).optional(),
  message: z.string().max(4096).optional(),
  lastTransitionTime: z.string().optional(),
  observedGeneration: z.number().int().min(0).optional(),
});

export type Condition = z.output<typeof condition>;

const count = z.strictObject({ expected: z.number().int().min(0), ready: z.number().int().min(0) });

/** Status fields every kind shares: what the operator observed and how ready the testbed is. */
export const commonStatus = {
  observedGeneration: z.number().int().min(0).optional(),
  conditions: z.array(condition).max(16).optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  members: count.optional().describe('Member pods expected and ready.'),
  ready: z.string().max(32).optional().describe('Ready members as "ready/expected" (a printer column).'),
  roles: z.record(z.string(), count).optional().describe('Expected and ready members per role (workload).'),
};

/** Immutability as a CEL rule on the field itself (transition rules run only on updates). */
export const immutable = (what: string) => ({
  'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: `${what} cannot change on a running testbed; create a new resource` }],
});
