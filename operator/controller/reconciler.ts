import type { KubernetesObject, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { podName } from '../../node/runtime/addressing.js';
import type { MemberAccess, MemberAddress } from '../members/access.js';
import { type MemberReading, ProgressTracker, describeVerdict } from '../members/progress.js';
import { type ReadResult, readMembers } from '../members/read.js';
import { agreedValues } from '../members/status-values.js';
import { plan as planResource } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { type Owner, type RenderOptions, keySecret, keysSecretName, render } from '../render/render.js';
import { parseResource } from '../schema/resources.js';
import type { Condition } from '../schema/status.js';
import { setCondition } from './conditions.js';
import type { InformerSet } from './informers.js';
import { type Kube, httpStatus } from './kube.js';
import { podProblems } from './pod-problems.js';
import { quotaProblems } from './quota.js';
import { type Observed, progressing, readiness } from './readiness.js';
import { WarningMemory } from './warnings.js';

export interface KindInfo {
  kind: string;
  plural: string;
}

export interface ReconcilerOptions {
  render: RenderOptions;
  /** How the operator reaches members' `/metrics` and `/admin`. */
  access: MemberAccess;
  /** No stall is declared sooner than this (nor sooner than the spec's longest timeout). */
  stallAfterMs: number;
  /** How often a testbed's pods and members are looked at between other events. */
  observeEveryMs: number;
  /** Learns the outcome of every read of a member's metrics. */
  counted: (r: ReadResult) => void;
}

export type Outcome = { result: 'invalid' | 'quota' | 'gone' } | { result: 'requeue'; afterMs: number };

type Status = Record<string, unknown> & { conditions?: Condition[] };

const MEMBER_TIMEOUT_MS = 3000;

/** Status as the API server keeps it, compared without regard to the order of conditions. */
const canonical = (s: Status | undefined) => JSON.stringify({ ...s, conditions: [...(s?.conditions ?? [])].sort((a, b) => a.type.localeCompare(b.type)) });

/**
 * Reconciles one custom resource: plan → render → server-side apply of every child → prune
 * children no longer rendered (the full pass, when the spec or a child changed); then, on every
 * pass, observes: membership changes sent to the protocol, member pods' problems, the protocol's
 * status numbers and progress read from the members, and status through `/status` when it
 * changed. Level-triggered: it reads the world afresh each time and is safe to repeat.
 */
export class Reconciler {
  /** The last membership command each testbed's protocol accepted (memory; resent after a restart). */
  private readonly sent = new Map<string, string>();
  /** The generation whose children were last applied, per testbed. */
  private readonly applied = new Map<string, number>();
  private readonly trackers = new Map<string, ProgressTracker>();
  private readonly warnings = new WarningMemory();
  /** The Ready reason last written per testbed (the informer's copy of the status may lag behind it). */
  private readonly readyReason = new Map<string, string>();
  /**
   * Testbeds whose stall was told (a Warning Event) and has not ended in progress since: a pass
   * that cannot read the members (ProgressUnknown) or a member restarting does not end a stall,
   * so the stall seen again after it is not a new one.
   */
  private readonly stalls = new Set<string>();

  constructor(private readonly kube: Kube, private readonly informers: InformerSet, private readonly o: ReconcilerOptions, private readonly log: Logger) {}

  /** `full`: apply the children even if this generation's were applied already (a child changed, a resync). */
  async reconcile(k: KindInfo, namespace: string, name: string, full = true): Promise<Outcome> {
    const key = `${namespace}/${name}`;
    const obj = this.informers.get(k.plural, name, namespace) as (KubernetesObject & { spec?: unknown; status?: Status }) | undefined;
    if (!obj) {
      for (const memory of [this.sent, this.applied, this.trackers, this.readyReason, this.stalls]) memory.delete(key);
      this.warnings.forget(key);
      return { result: 'gone' }; // deleted: owner references let the garbage collector remove the children
    }
    const meta = obj.metadata!;
    const owner: Owner = { kind: k.kind, name, namespace, uid: meta.uid! };
    const generation = meta.generation ?? 0;
    const now = new Date().toISOString();
    const before = obj.status?.conditions ?? [];
    let conditions = before;
    const set = (type: string, c: Pick<Condition, 'status' | 'reason' | 'message'>) =>
      (conditions = setCondition(conditions, { type, ...c, observedGeneration: generation }, now));
    const writeStatus = async (status: Status) => {
      const next = { ...status, observedGeneration: generation, conditions };
      if (canonical(next) !== canonical(obj.status)) await this.kube.applyStatus(k.kind, k.plural, namespace, name, next);
    };
    const readyBefore = before.find((c) => c.type === 'Ready');

    let plan: Plan;
    try {
      plan = planResource(parseResource({ ...obj, status: undefined }, `${k.kind} ${namespace}/${name}`));
    } catch (err) {
      const message = (err as Error).message;
      set('Ready', { status: 'False', reason: 'InvalidSpec', message });
      set('Progressing', { status: 'False', reason: 'InvalidSpec', message });
      await writeStatus({});
      if (readyBefore?.message !== message || readyBefore.observedGeneration !== generation) await this.kube.event(owner, 'Warning', 'InvalidSpec', message);
      return { result: 'invalid' };
    }

    if (full || this.applied.get(key) !== generation) {
      const quotas = (await this.kube.core.listNamespacedResourceQuota({ namespace })).items;
      const overQuota = quotaProblems(plan, quotas);
      if (overQuota.length > 0) {
        const message = `the testbed does not fit the namespace's quota: ${overQuota.join('; ')}`;
        set('Ready', { status: 'False', reason: 'QuotaExceeded', message });
        set('Progressing', { status: 'False', reason: 'QuotaExceeded', message });
        const { roles, members } = this.memberCounts(plan, namespace, name);
        await writeStatus({ roles, members, ready: `${members.ready}/${members.expected}` });
        if (readyBefore?.reason !== 'QuotaExceeded') await this.kube.event(owner, 'Warning', 'QuotaExceeded', message);
        this.applied.delete(key);
        return { result: 'quota' };
      }
      const children = render(plan, owner, this.o.render);
      const fresh = !this.informers.get('configmaps', `${name}-topology`, namespace);
      await this.ensureKeys(plan, owner);
      for (const child of children) await this.kube.apply(child);
      await this.prune(children, namespace, name);
      if (fresh) await this.kube.event(owner, 'Normal', 'Created', `created ${children.length} children: ${children.map((c) => `${c.kind}/${c.metadata!.name}`).join(', ')}`);
      this.applied.set(key, generation);
    }

    const pods = this.informers.list('pods', namespace).filter((p) => p.metadata?.labels?.['switchyard.dev/testbed'] === name) as V1Pod[];
    const address = (member: string): MemberAddress => {
      const pod = `${name}-${podName(member)}`;
      const ip = pods.find((p) => p.metadata?.name === pod)?.status?.podIP;
      return { namespace, pod, ip, service: name };
    };
    if (plan.reconfigure) await this.reconfigure(plan.reconfigure, owner, obj.status ?? {}, plan.reconfigure.members.map(address));

    const { roles, members } = this.memberCounts(plan, namespace, name);
    const problems = podProblems(pods);
    const running = problems.length === 0 && members.ready === members.expected;
    const signal = running ? plan.progress : null;
    const toRead = new Set([...plan.statusMembers, ...(plan.reconfigure?.members ?? [])]);
    if (signal) {
      for (const m of plan.members) {
        if (m.name.startsWith(signal.counter.members) || (signal.meanwhile && m.name.startsWith(signal.meanwhile.members))) toRead.add(m.name);
      }
    }
    const readings = await readMembers(this.o.access, new Map([...toRead].map((m) => [m, address(m)])), MEMBER_TIMEOUT_MS, this.o.counted);
    const values = agreedValues(plan.statusMetrics, plan.statusMembers, readings);
    const progress = signal ? this.judgeProgress(key, plan, readings, values) : null;
    if (!signal) this.trackers.delete(key);

    const observed: Observed = { roles, members, rolling: this.rollingOut(plan, namespace, name), problems, progress };
    const ready = readiness(observed);
    set('Ready', ready);
    set('Progressing', progressing(observed));
    if (plan.reconfigure) {
      const rc = plan.reconfigure;
      const target = rc.converged;
      const current = values[target.field];
      set('Reconfiguring', current === undefined
        ? { status: 'Unknown', reason: 'ProtocolUnreachable', message: `no majority of ${rc.members.join(', ')} answers yet` }
        : current === target.value
          ? { status: 'False', reason: 'Converged', message: `${target.field} is ${target.value}` }
          : { status: 'True', reason: 'InProgress', message: `${target.field} is ${current}, going to ${target.value}` });
    }
    // Numbers no majority of members reports now keep their last readings.
    const previous = Object.fromEntries(Object.keys(plan.statusMetrics).filter((f) => obj.status?.[f] !== undefined).map((f) => [f, obj.status![f]]));
    await writeStatus({ roles, members, ready: `${members.ready}/${members.expected}`, ...previous, ...values });
    await this.tellUser(owner, problems, this.readyReason.get(key) ?? readyBefore?.reason, ready);
    this.readyReason.set(key, ready.reason!);
    return { result: 'requeue', afterMs: this.o.observeEveryMs };
  }

  /** Warning Events for new pod problems and a stall, a Normal one when progress resumes; never one per pass. */
  private async tellUser(owner: Owner, problems: ReturnType<typeof podProblems>, before: string | undefined, ready: Pick<Condition, 'reason' | 'message'>): Promise<void> {
    const key = `${owner.namespace}/${owner.name}`;
    const fresh = this.warnings.fresh(key, problems);
    if (fresh.message) await this.kube.event(owner, 'Warning', fresh.reason, fresh.message);
    if (before === 'ProtocolStalled') this.stalls.add(key); // told before this operator started
    if (ready.reason === 'ProtocolStalled' && !this.stalls.has(key)) {
      this.stalls.add(key);
      await this.kube.event(owner, 'Warning', 'ProtocolStalled', ready.message!);
    }
    if (ready.reason === 'AllMembersReady' && this.stalls.delete(key)) await this.kube.event(owner, 'Normal', 'ProgressResumed', ready.message!);
  }

  private judgeProgress(key: string, plan: Plan, readings: Map<string, MemberReading>, values: Record<string, number>): Observed['progress'] {
    const signal = plan.progress!;
    const windowMs = Math.max(this.o.stallAfterMs, signal.timeoutMs);
    let tracker = this.trackers.get(key);
    if (!tracker || tracker.windowMs !== windowMs || JSON.stringify(tracker.signal) !== JSON.stringify(signal)) {
      this.trackers.set(key, (tracker = new ProgressTracker(signal, windowMs)));
    }
    const now = Date.now();
    tracker.observe(now, readings);
    const verdict = tracker.verdict(now);
    return { state: verdict.state, message: describeVerdict(signal, verdict, plan.describeStatus(values)) };
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

  private memberCounts(plan: Plan, namespace: string, name: string): Pick<Observed, 'roles' | 'members'> {
    const roles: Record<string, { expected: number; ready: number }> = {};
    for (const w of plan.workloads) {
      const sts = this.informers.get('statefulsets', `${name}-${w.name}`, namespace) as V1StatefulSet | undefined;
      roles[w.name] = { expected: w.replicas, ready: Math.min(w.replicas, sts?.status?.readyReplicas ?? 0) };
    }
    const expected = plan.workloads.reduce((n, w) => n + w.replicas, 0);
    const ready = Object.values(roles).reduce((n, r) => n + r.ready, 0);
    return { roles, members: { expected, ready } };
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

  /**
   * Tells the protocol its membership (the Hydra configuration service adds or removes
   * sequencers through its own protocol): every member that takes the command gets it, so one
   * pod down or restarting does not hold the change back. Retried on the next pass until the
   * status shows it converged.
   */
  private async reconfigure(rc: NonNullable<Plan['reconfigure']>, owner: Owner, status: Status, to: MemberAddress[]): Promise<void> {
    const key = `${owner.namespace}/${owner.name}`;
    const command = JSON.stringify(rc.command);
    if (this.sent.get(key) === command && status[rc.converged.field] === rc.converged.value) return;
    const results = await Promise.allSettled(to.map((member) => this.o.access.post(member, '/admin', command, MEMBER_TIMEOUT_MS)));
    const took = rc.members.filter((_, i) => results[i]!.status === 'fulfilled');
    for (const r of results) if (r.status === 'rejected') this.log.debug({ testbed: key, err: (r.reason as Error).message }, 'protocol member unreachable');
    if (took.length > 0 && this.sent.get(key) !== command) {
      this.sent.set(key, command);
      await this.kube.event(owner, 'Normal', 'Reconfiguring', `asked ${took.join(', ')} for ${command}`);
    }
  }
}
