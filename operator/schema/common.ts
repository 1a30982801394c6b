import { z } from 'zod';

export const API_GROUP = 'switchyard.dev';
export const API_VERSION = 'v1alpha1';

/** Kubernetes object names: DNS-1123 labels, short enough to prefix child and pod names. */
export const resourceName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label: lower-case letters, digits and "-"')
  .max(40, 'must be at most 40 characters (child and pod names are derived from it)');

export const metadata = z.object({
  name: resourceName,
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  generation: z.number().int().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
}).passthrough();

export { networkImpairments as networkSpec } from '../../node/runtime/impair.js';


/** Formats zod issues as `path: reason` lines naming the offending field. */
export function formatIssues(error: z.ZodError, root = ''): string {
  return error.issues
    .map((i) => {
      const path = [root, ...i.path.map(String)].filter(Boolean).join('.') || '(root)';
      const keys = i.code === 'unrecognized_keys' ? ` (${i.keys.map((k) => `${path}.${k}`).join(', ')})` : '';
      return `${path}: ${i.message}${keys}`;
    })
    .join('\n');
}

/** Parses `input` or throws an Error whose message lists every offending field. */
export function parseOrExplain<T extends z.ZodType>(schema: T, input: unknown, what: string, root = ''): z.output<T> {
  const r = schema.safeParse(input);
  if (!r.success) throw new Error(`invalid ${what}:\n${formatIssues(r.error, root)}`);
  return r.data;
}

const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi)?$/, 'must be a Kubernetes quantity such as 100m, 1, 256Mi');

/** Compute resources of every member pod (the operator's pods; the local runner ignores them). */
export const podResources = z.strictObject({
  requests: z.strictObject({ cpu: quantity.default('50m'), memory: quantity.default('64Mi') }).prefault({}),
  limits: z.strictObject({ cpu: quantity.optional(), memory: quantity.default('256Mi') }).prefault({}),
}).describe('Requests and limits of every member pod.');
