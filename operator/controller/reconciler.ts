import type { KubernetesObject, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { podName } from '../../node/net/addressing.js';
import { plan as planResource } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { type Owner, type RenderOptions, keySecret, keysSecretName, render } from '../render/render.js';
import { parseResource } from '../schema/resources.js';
import type { Condition } from '../schema/status.js';
import { setCondition } from './conditions.js';
import type { InformerSet } from './informers.js';
import { type Kube, httpStatus } from './kube.js';
import { quotaProblems } from './quota.js';

export interface KindInfo {
  kind: string;
  plural: string;
}

export interface ReconcilerOptions {
  render: RenderOptions;
  /** Base URL of a member's metrics/admin endpoint; {pod}, {service}, {namespace}, {domain} are filled in. */
  memberUrl: string;
}

export type Outcome = { result: 'ok' | 'invalid' | 'quota' | 'gone' } | { result: 'requeue'; afterMs: number };

type Status = Record<string, unknown> & { conditions?: Condition[] };

interface ProtocolReading {
  reachable: boolean;
  values: Record<string, number>;
}

/**
 * Reconciles one custom resource: plan → render → server-side apply of every child → prune
 * children no longer rendered → membership changes sent to the protocol → status through
 * `/status`. Level-triggered: it reads the world afresh each time and is safe to repeat.
 */
export class Reconciler {
  /** The last membership command each testbed's protocol accepted (memory; resent after a restart). */
  private readonly sent = new Map<string, string>();

  constructor(private readonly kube: Kube, private readonly informers: InformerSet, private readonly o: ReconcilerOptions, private readonly log: Logger) {}

  async reconcile(k: KindInfo, namespace: string, name: string): Promise<Outcome> {
    const obj = this.informers.get(k.plural, name, namespace) as (KubernetesObject & { spec?: unknown; status?: Status }) | undefined;
    if (!obj) {
      this.sent.delete(`${namespace}/${name}`);
      return { result: 'gone' }; // deleted: owner references let the garbage collector remove the children
    }
    const meta = obj.metadata!;
    const owner: Owner = { kind: k.kind, name, namespace, uid: meta.uid! };
    const generation = meta.generation ?? 0;
    const now = new Date().toISOString();
    let conditions = obj.status?.conditions ?? [];
    const writeStatus = (status: Status) =>
      this.kube.applyStatus(k.kind, k.plural, namespace, name, { ...status, observedGeneration: generation, conditions });

    let plan: Plan;
    try {
      plan = planResource(parseResource({ ...obj, status: undefined }, `${k.kind} ${namespace}/${name}`));
    } catch (err) {
      const message = (err as Error).message;
      conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: 'InvalidSpec', message, observedGeneration: generation }, now);
      conditions = setCondition(conditions, { type: 'Progressing', status: 'False', reason: 'InvalidSpec', message, observedGeneration: generation }, now);
      await writeStatus({});
      await this.kube.event(owner, 'Warning', 'InvalidSpec', message);
      return { result: 'invalid' };
    }

    const quotas = (await this.kube.core.listNamespacedResourceQuota({ namespace })).items;
    const overQuota = quotaProblems(plan, quotas);
    if (overQuota.length > 0) {
      const message = `the testbed does not fit the namespace's quota: ${overQuota.join('; ')}`;
      const changed = conditions.find((c) => c.type === 'Ready')?.reason !== 'QuotaExceeded';
      conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: 'QuotaExceeded', message, observedGeneration: generation }, now);
      conditions = setCondition(conditions, { type: 'Progressing', status: 'False', reason: 'QuotaExceeded', message, observedGeneration: generation }, now);
      await writeStatus(this.memberCounts(plan, namespace, name));
      if (changed) await this.kube.event(owner, 'Warning', 'QuotaExceeded', message);
      return { result: 'quota' };
    }

    const children = render(plan, owner, this.o.render);
    const fresh = !this.informers.get('configmaps', `${name}-topology`, namespace);
    await this.ensureKeys(plan, owner);
    for (const child of children) await this.kube.apply(child);
    await this.prune(children, namespace, name);
    if (fresh) await this.kube.event(owner, 'Normal', 'Created', `created ${children.length} children: ${children.map((c) => `${c.kind}/${c.metadata!.name}`).join(', ')}`);

    if (plan.reconfigure) await this.reconfigure(plan.reconfigure, owner, obj.status ?? {});
    const reading = plan.statusMember ? await this.readProtocol(plan, plan.statusMember, owner) : null;
    const counts = this.memberCounts(plan, namespace, name);
    const members = counts.members as { expected: number; ready: number };
    const rolling = this.rollingOut(plan, namespace, name);
    const allReady = members.ready === members.expected;
    const notReady = Object.entries(counts.roles as Record<string, { expected: number; ready: number }>)
      .filter(([, c]) => c.ready < c.expected).map(([role, c]) => `${role} ${c.ready}/${c.expected}`);
    conditions = setCondition(conditions, allReady
      ? { type: 'Ready', status: 'True', reason: 'AllMembersReady', message: `${members.ready}/${members.expected} members ready`, observedGeneration: generation }
      : { type: 'Ready', status: 'False', reason: 'MembersNotReady', message: `waiting for ${notReady.join(', ')}`, observedGeneration: generation }, now);
    conditions = setCondition(conditions, rolling.length > 0
      ? { type: 'Progressing', status: 'True', reason: 'RollingOut', message: `updating ${rolling.join(', ')}`, observedGeneration: generation }
      : { type: 'Progressing', status: 'False', reason: 'Stable', message: 'every workload is at its desired state', observedGeneration: generation }, now);
    let converged = true;
    if (plan.reconfigure && reading) {
      const target = plan.reconfigure.converged;
      converged = reading.values[target.field] === target.value;
      conditions = setCondition(conditions, !reading.reachable
        ? { type: 'Reconfiguring', status: 'Unknown', reason: 'ProtocolUnreachable', message: `the ${plan.reconfigure.member} member does not answer yet`, observedGeneration: generation }
        : converged
          ? { type: 'Reconfiguring', status: 'False', reason: 'Converged', message: `${target.field} is ${target.value}`, observedGeneration: generation }
          : { type: 'Reconfiguring', status: 'True', reason: 'InProgress', message: `${target.field} is ${reading.values[target.field]}, going to ${target.value}`, observedGeneration: generation }, now);
    }
    // While the protocol member doesn't answer, its last readings stay in the status.
    const previous = Object.fromEntries(Object.keys(plan.statusMetrics).filter((f) => obj.status?.[f] !== undefined).map((f) => [f, obj.status![f]]));
    await writeStatus({ ...counts, ...(reading?.reachable ? reading.values : previous) });
    if (!allReady || (reading && (!reading.reachable || !converged))) return { result: 'requeue', afterMs: 5000 };
    return { result: 'ok' };
  }

  /** Keys are generated once, when the testbed's Secret does not exist yet; never rewritten. */
  private async ensureKeys(plan: Plan, owner: Owner): Promise<void> {
    const secret = keySecret(plan, owner);
    if (!secret) return;
    try {
      await this.kube.core.readNamespacedSecret({ name: keysSecretName(owner), namespace: owner.namespace });
    } catch (err) {
      if (httpStatus(err) !== 404) throw err;
      await this.kube.core.createNamespacedSecret({ namespace: owner.namespace, body: secret as never });
      await this.kube.event(owner, 'Normal', 'KeysGenerated', `generated the testbed's keys into Secret ${keysSecretName(owner)}`);
    }
  }

  private memberCounts(plan: Plan, namespace: string, name: string): Status {
    const roles: Record<string, { expected: number; ready: number }> = {};
    for (const w of plan.workloads) {
      const sts = this.informers.get('statefulsets', `${name}-${w.name}`, namespace) as V1StatefulSet | undefined;
      roles[w.name] = { expected: w.replicas, ready: Math.min(w.replicas, sts?.status?.readyReplicas ?? 0) };
    }
    const expected = plan.workloads.reduce((n, w) => n + w.replicas, 0);
    const ready = Object.values(roles).reduce((n, r) => n + r.ready, 0);
    return { roles, members: { expected, ready }, ready: `${ready}/${expected}` };
  }

  private rollingOut(plan: Plan, namespace: string, name: string): string[] {
    return plan.workloads.filter((w) => {
      const sts = this.informers.get('statefulsets', `${name}-${w.name}`, namespace) as V1StatefulSet | undefined;
      const st = sts?.status;
      return !st || (st.observedGeneration ?? 0) < (sts.metadata?.generation ?? 0) || (st.updatedReplicas ?? 0) < w.replicas;
    }).map((w) => w.name);
  }

  /** Deletes children of this testbed that the plan no longer renders (e.g. a removed aggregator). */
  private async prune(children: KubernetesObject[], namespace: string, name: string): Promise<void> {
    const wanted = new Set(children.map((c) => `${c.kind}/${c.metadata!.name}`));
    for (const resource of ['statefulsets', 'configmaps', 'services', 'networkpolicies']) {
      for (const o of this.informers.list(resource, namespace)) {
        if (o.metadata?.labels?.['switchyard.dev/testbed'] !== name) continue;
        const kind = o.kind ?? { statefulsets: 'StatefulSet', configmaps: 'ConfigMap', services: 'Service', networkpolicies: 'NetworkPolicy' }[resource]!;
        if (wanted.has(`${kind}/${o.metadata!.name}`)) continue;
        this.log.info({ testbed: name, child: `${kind}/${o.metadata!.name}` }, 'pruning a child the plan no longer has');
        await this.kube.delete({ ...o, kind, apiVersion: o.apiVersion ?? (resource === 'statefulsets' ? 'apps/v1' : resource === 'networkpolicies' ? 'networking.k8s.io/v1' : 'v1') })
          .catch((err) => {
            if (httpStatus(err) !== 404) throw err;
          });
      }
    }
  }

  private memberBase(member: string, owner: Owner): string {
    return this.o.memberUrl
      .replaceAll('{pod}', `${owner.name}-${podName(member)}`)
      .replaceAll('{service}', owner.name)
      .replaceAll('{namespace}', owner.namespace)
      .replaceAll('{domain}', this.o.render.clusterDomain);
  }

  /**
   * Tells the protocol its membership (the Hydra configuration service adds or removes
   * sequencers through its own protocol). Unreachable members are retried on the next pass.
   */
  private async reconfigure(rc: NonNullable<Plan['reconfigure']>, owner: Owner, status: Status): Promise<void> {
    const key = `${owner.namespace}/${owner.name}`;
    const command = JSON.stringify(rc.command);
    if (this.sent.get(key) === command && status[rc.converged.field] === rc.converged.value) return;
    try {
      const res = await fetch(`${this.memberBase(rc.member, owner)}/admin`, { method: 'POST', body: command, signal: AbortSignal.timeout(3000) });
      if (!res.ok) throw new Error(`admin endpoint answered ${res.status}: ${await res.text()}`);
      if (this.sent.get(key) !== command) {
        this.sent.set(key, command);
        await this.kube.event(owner, 'Normal', 'Reconfiguring', `asked the ${rc.member} member for ${command}`);
      }
    } catch (err) {
      this.log.debug({ testbed: key, err: (err as Error).message }, 'protocol member unreachable');
    }
  }

  /** Reads the protocol's own status numbers (configuration, view, …) from one member's metrics. */
  private async readProtocol(plan: Plan, member: string, owner: Owner): Promise<ProtocolReading> {
    try {
      const res = await fetch(`${this.memberBase(member, owner)}/metrics.json`, { signal: AbortSignal.timeout(3000) });
      const metrics = (await res.json()) as { name: string; values: { value: number }[] }[];
      const values: Record<string, number> = {};
      for (const [field, metric] of Object.entries(plan.statusMetrics)) {
        const m = metrics.find((x) => x.name === metric);
        if (m?.values[0]) values[field] = m.values[0].value;
      }
      return { reachable: true, values };
    } catch (err) {
      this.log.debug({ testbed: `${owner.namespace}/${owner.name}`, err: (err as Error).message }, 'protocol member unreachable');
      return { reachable: false, values: {} };
    }
  }
}
