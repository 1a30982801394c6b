import { stringify } from 'yaml';
import { z } from 'zod';
import { API_GROUP, API_VERSION } from './common.js';
import { bftClusterSpec, bftClusterStatus } from './bftcluster.js';
import { sequencerGroupSpec, sequencerGroupStatus } from './sequencergroup.js';
import { migratingServiceSpec, migratingServiceStatus } from './migratingservice.js';

type Json = Record<string, unknown>;

interface KindInfo {
  kind: string;
  plural: string;
  shortName: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: { name: string; type: string; jsonPath: string; description: string }[];
  /** CEL rules on the whole object (what a field's own schema can't say). */
  rules: { rule: string; message: string }[];
}

/** The last printer columns of every kind. */
const READINESS_COLUMNS: KindInfo['printerColumns'] = [
  { name: 'Ready', type: 'string', jsonPath: '.status.ready', description: 'Ready members / expected.' },
  { name: 'Status', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].reason", description: 'Why it is (not) ready.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' },
];

const NAME_RULE = { rule: 'size(self.metadata.name) <= 40', message: 'metadata.name must be at most 40 characters (child and pod names are derived from it)' };

export const KINDS: KindInfo[] = [
  {
    kind: 'SequencerGroup',
    plural: 'sequencergroups',
    shortName: 'sg',
    spec: sequencerGroupSpec,
    status: sequencerGroupStatus,
    printerColumns: [
      { name: 'Sequencers', type: 'integer', jsonPath: '.spec.sequencers', description: 'Sequencers wanted.' },
      { name: 'Active', type: 'integer', jsonPath: '.status.activeSequencers', description: 'Sequencers in the current configuration.' },
      { name: 'Config', type: 'integer', jsonPath: '.status.configuration', description: 'Hydra configuration number.' },
      ...READINESS_COLUMNS,
    ],
    rules: [NAME_RULE],
  },
  {
    kind: 'BFTCluster',
    plural: 'bftclusters',
    shortName: 'bft',
    spec: bftClusterSpec,
    status: bftClusterStatus,
    printerColumns: [
      { name: 'Protocol', type: 'string', jsonPath: '.spec.protocol', description: 'neobft-hm or neobft-pk.' },
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', description: 'Replicas (3f+1).' },
      { name: 'Epoch', type: 'integer', jsonPath: '.status.epoch', description: 'Current epoch (sequencer installation).' },
      { name: 'Leader', type: 'integer', jsonPath: '.status.leader', description: 'Current leader replica.' },
      ...READINESS_COLUMNS,
    ],
    rules: [
      NAME_RULE,
      { rule: "!has(self.spec) || self.spec.protocol == 'unreplicated' || self.spec.replicas == 3 * self.spec.f + 1", message: 'spec.replicas must be 3f+1' },
      { rule: '!has(self.spec) || !has(self.spec.faults) || !has(self.spec.faults.replicas) || self.spec.faults.replicas.size() <= self.spec.f', message: 'spec.faults.replicas: at most f replicas may be faulty' },
      {
        rule: '!has(self.spec) || !has(self.spec.faults) || !has(self.spec.faults.replicas) || self.spec.faults.replicas.all(r, r.index < self.spec.replicas)',
        message: 'spec.faults.replicas: indexes must be below spec.replicas',
      },
      {
        rule: "!has(self.spec) || !has(self.spec.faults) || !has(self.spec.faults.sequencer) || self.spec.faults.sequencer == 'none' || self.spec.protocol == 'neobft-hm'",
        message: 'spec.faults.sequencer: a misbehaving sequencer needs protocol neobft-hm',
      },
    ],
  },
  {
    kind: 'MigratingService',
    plural: 'migratingservices',
    shortName: 'msvc',
    spec: migratingServiceSpec,
    status: migratingServiceStatus,
    printerColumns: [
      { name: 'Servers', type: 'integer', jsonPath: '.spec.servers', description: 'Backend servers behind the virtual IP.' },
      { name: 'Mode', type: 'string', jsonPath: '.spec.migration.mode', description: 'capybara, reactive, lwrr or reconnect.' },
      { name: 'App', type: 'string', jsonPath: '.spec.application', description: 'kv or echo.' },
      ...READINESS_COLUMNS,
    ],
    rules: [NAME_RULE],
  },
];

/**
 * Rewrites zod's JSON Schema (2020-12) into a Kubernetes structural OpenAPI v3 schema: no
 * `additionalProperties: false` (the server prunes unknown fields and strict field validation
 * reports them), maps as `additionalProperties` without `propertyNames`, nullable fields as
 * `nullable: true`, `const` as a
 * one-value enum, numeric exclusive bounds as OpenAPI 3.0 booleans, and no safe-integer noise.
 */
export function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (typeof node !== 'object' || node === null) return node;
  const nullable = nullableOf(node as Json);
  if (nullable) return nullable;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === '$schema' || k === 'propertyNames') continue;
    if (k === 'additionalProperties' && v === false) continue;
    if (k === 'const') {
      out.enum = [v];
      continue;
    }
    if ((k === 'maximum' && v === Number.MAX_SAFE_INTEGER) || (k === 'minimum' && v === Number.MIN_SAFE_INTEGER)) continue;
    if ((k === 'exclusiveMinimum' || k === 'exclusiveMaximum') && typeof v === 'number') {
      out[k === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = v;
      out[k] = true;
      continue;
    }
    out[k] = structural(v);
  }
  return out;
}

/** zod's `.nullable()` is `anyOf: [schema, {type: null}]`; Kubernetes says `nullable: true` on the schema. */
function nullableOf(node: Json): Json | null {
  const options = node.anyOf;
  if (!Array.isArray(options) || options.length !== 2) return null;
  const rest = options.filter((o) => (o as Json).type !== 'null');
  if (rest.length !== 1) return null;
  const { anyOf: _anyOf, ...siblings } = node;
  return { ...(structural({ ...(rest[0] as Json), ...siblings }) as Json), nullable: true };
}

const schemaOf = (t: z.ZodType) => structural(z.toJSONSchema(t, { io: 'input', unrepresentable: 'throw' })) as Json;

/** The CRD file contents for every kind, keyed by file name. */
export function crdFiles(): Map<string, string> {
  return new Map(KINDS.map((k) => {
    const crd = crdOf(k);
    const name = (crd.metadata as { name: string }).name;
    return [`${name}.yaml`, `# Generated from operator/schema by \`npm run crds\`; do not edit.\n${stringify(crd, { lineWidth: 0 })}`];
  }));
}

/** The CustomResourceDefinition of one kind, generated from its zod schemas. */
export function crdOf(k: KindInfo): Json {
  const singular = k.kind.toLowerCase();
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${API_GROUP}`, labels: { 'app.kubernetes.io/part-of': 'switchyard' } },
    spec: {
      group: API_GROUP,
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular, shortNames: [k.shortName], categories: ['switchyard'] },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: k.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `${k.kind}: one Switchyard testbed (see the project README for every field).`,
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: { ...schemaOf(k.spec), default: {} },
                status: schemaOf(k.status),
              },
              'x-kubernetes-validations': k.rules,
            },
          },
        },
      ],
    },
  };
}
