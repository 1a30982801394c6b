import type { KubernetesObject } from '@kubernetes/client-node';
import { plan as planResource } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { API_GROUP } from '../schema/common.js';
import { KINDS } from '../schema/crd.js';
import { parseResource } from '../schema/resources.js';
import type { Cluster } from './cluster.js';
import { ObserveError, describeApiError } from './errors.js';

type Kind = (typeof KINDS)[number];

/** The kinds `--kind` names: by kind, plural or short name, in any case; all three without it. */
export function kindsToTry(kind: string | undefined): Kind[] {
  if (kind === undefined) return KINDS;
  const want = kind.toLowerCase();
  const k = KINDS.find((x) => [x.kind.toLowerCase(), x.plural, x.shortName].includes(want));
  if (!k) throw new ObserveError(`--kind must be one of ${KINDS.map((x) => `${x.kind} (${x.plural}, ${x.shortName})`).join(', ')}, not "${kind}"`);
  return [k];
}

/** A testbed found in the cluster: its kind, the object, and the plan its spec gives. */
export interface FoundTestbed {
  kind: string;
  object: KubernetesObject;
  plan: Plan;
}

/**
 * Finds `name` in `namespace` among `kinds`. Not found anywhere: the message names every kind
 * tried (and says when the CRDs are not installed); found as several kinds: asks for --kind.
 */
export async function findTestbed(cluster: Cluster, namespace: string, name: string, kinds: Kind[]): Promise<FoundTestbed> {
  const found: { kind: Kind; object: KubernetesObject }[] = [];
  const missingCrds: string[] = [];
  for (const k of kinds) {
    try {
      found.push({ kind: k, object: await cluster.getResource(k.plural, namespace, name) });
    } catch (err) {
      const e = err as { code?: unknown; body?: unknown };
      if (e.code !== 404) throw new ObserveError(describeApiError(err, cluster.server, `reading ${k.kind} ${namespace}/${name}`));
      // A missing object's 404 names it; a missing resource type's does not.
      if (!JSON.stringify(e.body ?? '').includes(name)) missingCrds.push(`${k.plural}.${API_GROUP}`);
    }
  }
  if (found.length === 0) {
    const crds = missingCrds.length ? ` (not installed in this cluster: ${missingCrds.join(', ')}; kubectl apply -f crds/)` : '';
    throw new ObserveError(`no ${kinds.map((k) => k.kind).join(', ').replace(/, ([^,]*)$/, ' or $1')} named "${name}" in namespace ${namespace}${crds}`);
  }
  if (found.length > 1) throw new ObserveError(`"${name}" in namespace ${namespace} is a ${found.map((f) => f.kind.kind).join(' and a ')}: say which with --kind`);
  const { kind, object } = found[0]!;
  let plan: Plan;
  try {
    plan = planResource(parseResource({ ...object, status: undefined }, `${kind.kind} ${namespace}/${name}`));
  } catch (err) {
    throw new ObserveError((err as Error).message);
  }
  return { kind: kind.kind, object, plan };
}
