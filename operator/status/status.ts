import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../plan/types.js';
import type { MemberAccess } from '../report/access.js';
import { type HistoryCheck, checkHistory, fetchHistories, historyPrefix, modelFor } from '../report/histories.js';
import { type LostClient, withLostIncarnations } from '../report/lost-histories.js';
import { type Snapshot, scrape } from '../report/scrape.js';
import { LiveView, formatTable, verdictOf } from '../report/summary.js';
import { reportFor } from '../report/systems.js';
import type { Cluster } from './cluster.js';
import { ObserveError, describeApiError } from './errors.js';
import { type MemberPod, isReady, memberPods, podProblem, podProxyAccess } from './members.js';
import { findTestbed, kindsToTry } from './resource.js';

export interface StatusOptions {
  name: string;
  namespace: string;
  /** A kind, plural or short name; all three kinds are tried without it. */
  kind?: string;
  /** Print the live line every second. */
  watch: boolean;
  /** The observation window; without it, until Ctrl-C with --watch, else DEFAULT_WINDOW_S. */
  durationSeconds?: number;
  /** Where the live line and the summary go (stderr when --json keeps stdout for the result). */
  out: NodeJS.WritableStream;
  /** Resolves when the user interrupts (Ctrl-C): the window ends early. */
  interrupted: Promise<void>;
  scrapeTimeoutMs?: number;
}

export const DEFAULT_WINDOW_S = 5;
const SCRAPE_TIMEOUT_MS = 3000;
const HISTORY_TIMEOUT_MS = 20_000;
/** The summary comes from the last scrape: it gets longer to answer than the live line's. */
const FINAL_SCRAPE_TIMEOUT_MS = 10_000;

/**
 * `switchyard status NAME`: observes a testbed the operator runs, for a window, and gives the
 * verdict `switchyard up` gives on a local run, from the same report code: every member
 * scraped through the API server's pod proxy, the live line (--watch) and the summary, the
 * clients' histories checked for linearizability. Read-only: the testbed keeps running (its
 * clients are not stopped; their histories are checked up to one instant, see historyPrefix).
 * Throws ObserveError when it cannot observe at all.
 */
export async function status(cluster: Cluster, opts: StatusOptions): Promise<{ exitCode: number; result: Record<string, unknown> & { ok: boolean } }> {
  const { out, namespace, name } = opts;
  const timeoutMs = opts.scrapeTimeoutMs ?? SCRAPE_TIMEOUT_MS;
  const { kind, object, plan } = await findTestbed(cluster, namespace, name, kindsToTry(opts.kind));
  const report = reportFor(plan);
  const readMembers = async (): Promise<MemberPod[]> => {
    try {
      return memberPods(plan, await cluster.listPods(namespace, `switchyard.dev/testbed=${name}`));
    } catch (err) {
      throw new ObserveError(describeApiError(err, cluster.server, `listing the pods of ${kind} ${namespace}/${name}`));
    }
  };
  const first = await readMembers();
  const problems = new Map<string, string>();
  const note = (members: MemberPod[]) => {
    for (const m of members) {
      const p = podProblem(m, plan);
      if (p && !problems.has(m.podName)) {
        problems.set(m.podName, p);
        out.write(`switchyard: ${p}\n`);
      }
    }
  };
  out.write(`switchyard: ${kind} ${namespace}/${name}: ${first.filter((m) => isReady(m.pod)).length}/${plan.members.length} member pods ready; `
    + `scraping through the API server's pod proxy at ${cluster.server}\n`);
  note(first);

  const access = podProxyAccess(cluster, namespace, first);
  // Members whose pods have an address (one still Pending has none: it is a failure already).
  const withPods = first.filter((m) => m.pod?.status?.podIP).map((m) => m.member);
  const memory: Parameters<typeof scrape>[2] = new Map();
  const scrapeNow = (patience = timeoutMs) => scrape(withPods, access, memory, patience);
  const base = await scrapeNow();
  const started = Date.now();
  const live = new LiveView(report, out, started, base);
  const window = opts.durationSeconds ?? (opts.watch ? Infinity : DEFAULT_WINDOW_S);
  let interrupted = false;
  const stop = Promise.race([
    opts.interrupted.then(() => (interrupted = true)),
    ...(Number.isFinite(window) ? [new Promise((r) => setTimeout(r, window * 1000).unref())] : []),
  ]);
  for (let stopped = false; !stopped;) {
    stopped = await Promise.race([stop.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]);
    if (!stopped && opts.watch) live.show(await scrapeNow(), plan.members.length);
  }
  const final: Snapshot = await scrapeNow(Math.max(timeoutMs, FINAL_SCRAPE_TIMEOUT_MS));
  const seconds = (Date.now() - started) / 1000;
  live.end();

  const last = await readMembers();
  note(last);
  const failures = [...problems.values(), ...restartedIn(first, last, plan)];
  const silent = withPods.filter((m) => !memory.has(m));
  if (silent.length > 0) failures.push(`not answering through the pod proxy: ${silent.join(', ')} (${await firstError(access, silent[0]!, timeoutMs)})`);
  let histories: HistoryCheck | null = null;
  if (plan.histories) {
    const clients = plan.members.filter((m) => m.load).map((m) => m.name);
    try {
      const cut = Date.now() * 1000;
      const read = await fetchHistories(clients, access, HISTORY_TIMEOUT_MS);
      const file = join(mkdtempSync(join(tmpdir(), `switchyard-status-${name}-`)), 'history.json');
      const lost = lostIncarnations(last, plan, Date.parse(String(object.metadata?.creationTimestamp ?? '')));
      histories = checkHistory(withLostIncarnations(historyPrefix(read, cut), lost, modelFor(plan)), modelFor(plan), file);
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  const { ok, table, result } = verdictOf({
    report, kind, name, base, final, seconds, drained: null,
    members: { expected: plan.members.length, ready: last.filter((m) => isReady(m.pod)).length },
    failures, histories, interrupted, timeline: live.timeline,
  });
  out.write(formatTable(table));
  return { exitCode: ok ? 0 : 1, result: { ...result, namespace } };
}

/**
 * Members whose pods restarted or were replaced during the window (their counters started again
 * from zero). As in `switchyard up`, an expendable member's death is the protocol's business.
 */
function restartedIn(first: MemberPod[], last: MemberPod[], plan: Plan): string[] {
  const restarts = (m: MemberPod) => (m.pod?.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
  const before = new Map(first.map((m) => [m.member, m]));
  return last.flatMap((m) => {
    const b = before.get(m.member);
    if (plan.members.find((x) => x.name === m.member)!.expendable || !b?.pod || !m.pod) return [];
    if (b.pod.metadata?.uid !== m.pod.metadata?.uid) return [`pod ${m.podName} (member ${m.member}) was replaced during the window`];
    const n = restarts(m) - restarts(b);
    return n > 0 ? [`pod ${m.podName} (member ${m.member}) restarted ${n} times during the window`] : [];
  });
}

/**
 * Clients whose earlier incarnations' histories are gone: their pod's container restarted, or the
 * pod was replaced (created well after the testbed's first pods). Such an incarnation started no
 * earlier than the resource was created, the time given as its start: the check loses strictness
 * from then on, never soundness (withLostIncarnations).
 */
export function lostIncarnations(members: MemberPod[], plan: Plan, createdAt: number): LostClient[] {
  const clients = members.filter((m) => plan.members.find((x) => x.name === m.member)?.load && m.pod);
  const created = (m: MemberPod) => Date.parse(String(m.pod!.metadata?.creationTimestamp ?? ''));
  const first = Math.min(...clients.map(created).filter(Number.isFinite));
  const startedAt = Number.isFinite(createdAt) ? createdAt : first;
  return clients
    .filter((m) => (m.pod!.status?.containerStatuses ?? []).some((c) => c.restartCount > 0) || created(m) > first + REPLACED_AFTER_MS)
    .map((m) => ({ member: m.member, startedAt }));
}

/** A client pod created this long after the first one replaced an earlier pod (StatefulSets create them within seconds). */
const REPLACED_AFTER_MS = 10_000;

/** Why a member does not answer, said once for all that do not. */
async function firstError(access: MemberAccess, member: string, timeoutMs: number): Promise<string> {
  try {
    await access.getJson(member, '/metrics.json', timeoutMs);
    return 'it answers now';
  } catch (err) {
    return (err as Error).message;
  }
}
