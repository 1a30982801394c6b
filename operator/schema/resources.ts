import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { formatIssues } from './common.js';
import { type BftCluster, bftCluster } from './bftcluster.js';
import { type SequencerGroup, sequencerGroup } from './sequencergroup.js';
import { type MigratingService, migratingService } from './migratingservice.js';

export type Resource = SequencerGroup | BftCluster | MigratingService;

const schemas = { SequencerGroup: sequencerGroup, BFTCluster: bftCluster, MigratingService: migratingService } as const;

/** Validates one custom resource; errors name every offending field by its path. */
export function parseResource(input: unknown, source = 'resource'): Resource {
  if (typeof input !== 'object' || input === null) throw new Error(`${source}: expected a custom resource object`);
  const kind = (input as { kind?: unknown }).kind;
  const schema = schemas[kind as keyof typeof schemas];
  if (!schema) {
    throw new Error(`${source}: kind ${JSON.stringify(kind)} is not one of ${Object.keys(schemas).join(', ')}`);
  }
  const r = schema.safeParse(input);
  if (!r.success) throw new Error(`${source}: invalid ${kind}:\n${formatIssues(r.error).replace(/^/gm, '  ')}`);
  return r.data;
}

/** Reads a YAML file holding exactly one custom resource. */
export function loadResourceFile(path: string): Resource {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  const docs = parseAllDocuments(text);
  const errors = docs.flatMap((d) => d.errors.map((e) => e.message));
  if (errors.length > 0) throw new Error(`${path} is not valid YAML: ${errors[0]}`);
  const objects = docs.map((d) => d.toJS()).filter((o) => o != null);
  if (objects.length !== 1) throw new Error(`${path} must hold exactly one resource (found ${objects.length})`);
  return parseResource(objects[0], path);
}
