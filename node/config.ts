import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { networkImpairments } from './runtime/impair.js';
import { hydraParams } from './hydra/params.js';
import { neobftParams } from './neobft/params.js';
import { capybaraParams } from './capybara/params.js';

/**
 * The node configuration: one JSON document per testbed (a ConfigMap in a cluster, a file
 * locally), the same for every member; `--role` says which member a process is. Validated at
 * start-up: a bad document exits with a message naming the field.
 */
const addressing = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('loopback'),
    host: z.string().default('127.0.0.1'),
    basePort: z.number().int().min(1024).max(60_000),
  }),
  z.strictObject({
    kind: z.literal('dns'),
    prefix: z.string().min(1),
    domain: z.string().min(1),
    port: z.number().int().min(1).max(65_535),
  }),
]);

const metrics = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('fixed'), host: z.string().default('0.0.0.0'), port: z.number().int().min(0).max(65_535) }),
  z.strictObject({ kind: z.literal('offset'), host: z.string().default('127.0.0.1'), basePort: z.number().int().min(1024).max(60_000) }),
]);

const common = {
  name: z.string().min(1),
  seed: z.number().int().default(1),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  addressing,
  metrics,
  network: networkImpairments.prefault({}),
  /** Where the testbed's key material is mounted (systems that have keys). */
  keys: z.string().min(1).optional(),
};

export const nodeDocument = z.discriminatedUnion('system', [
  z.strictObject({ system: z.literal('hydra'), ...common, hydra: hydraParams }),
  z.strictObject({ system: z.literal('neobft'), ...common, neobft: neobftParams }),
  z.strictObject({ system: z.literal('capybara'), ...common, capybara: capybaraParams }),
]);

export type NodeDocument = z.output<typeof nodeDocument>;

export function parseNodeDocument(input: unknown, source: string): NodeDocument {
  const r = nodeDocument.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  throw new Error(`invalid node configuration ${source}:\n${lines.join('\n')}`);
}

export function loadNodeDocument(path: string): NodeDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read node configuration ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`node configuration ${path} is not JSON: ${(err as Error).message}`);
  }
  return parseNodeDocument(json, path);
}
