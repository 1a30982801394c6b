import { mkdtempSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { NodeDocument } from '../../node/config.js';
import { plan as planResource } from '../plan/plan.js';
import { withoutLive } from '../plan/live.js';
import type { Plan } from '../plan/types.js';
import { loadResourceFile } from '../schema/resources.js';
import { MemberProcess } from './members.js';
import { findBasePorts } from './ports.js';
import { type LostIncarnation, Supervisor } from './supervisor.js';
import { urlAccess } from '../report/access.js';
import { type HistoryCheck, checkHistory, fetchHistories, modelFor, wholeHistory } from '../report/histories.js';
import { withLostIncarnations } from '../report/lost-histories.js';
import { type Snapshot, retire, scrape } from '../report/scrape.js';
import { StallWatch } from '../report/stall.js';
import { LiveView, formatTable, verdictOf } from '../report/summary.js';
import { reportFor } from '../report/systems.js';

export interface UpOptions {
  file: string;
  /** Overrides the spec's workload duration. */
  durationSeconds?: number;
  /** Where progress and the summary table go (stderr when --json keeps stdout for the result). */
  out: NodeJS.WritableStream;
  /** A member that dies fails the run (today's behaviour before restarts; expendable members excepted). */
  failFast?: boolean;
}

/**
 * Lets the load members finish what they sent: they stop issuing requests, and the runner polls
 * until nothing is outstanding (or `timeoutMs` passes). Returns the scrape that shows the end.
 */
async function drainLoad(plan: Plan, clients: MemberProcess[], scrapeNow: () => Promise<Snapshot>, timeoutMs: number): Promise<Snapshot> {
  const drain = plan.drain!;
  // A client that died meanwhile has nothing to drain (and is not waited for).
  await Promise.all(clients.map((c) => fetch(`${c.metricsUrl}/admin`, { method: 'POST', body: JSON.stringify(drain.command) }).catch(() => null)));
  const until = Date.now() + timeoutMs;
  for (;;) {
    const now = await scrapeNow();
    if (now.sum(drain.outstanding) === 0 || Date.now() > until) return now;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Asks every client to stop issuing (its outstanding request may still finish), then reads
 * their recorded histories, writes them to `file` and checks them together: a history is only
 * complete once no client adds to it. `lost`: client incarnations that died, whose histories
 * went with them (withLostIncarnations says how they are checked).
 */
async function collectHistories(plan: Plan, clients: MemberProcess[], lost: LostIncarnation[], file: string): Promise<HistoryCheck> {
  await Promise.all(clients.map((c) => fetch(`${c.metricsUrl}/admin`, { method: 'POST', body: '{"stop":true}' }).catch(() => null)));
  await new Promise((r) => setTimeout(r, 1000));
  const access = urlAccess((member) => clients.find((c) => c.member.name === member)!.metricsUrl);
  const histories = await fetchHistories(clients.map((c) => c.member.name), access, HISTORY_TIMEOUT_MS);
  const model = modelFor(plan);
  return checkHistory(withLostIncarnations(wholeHistory(histories), lost, model), model, file);
}

const READY_TIMEOUT_MS = 20_000;
const DRAIN_TIMEOUT_MS = 10_000;
const METRICS_GAP = 2500;
const HISTORY_TIMEOUT_MS = 10_000;
/** The summary comes from the last scrape: a loaded machine gets longer than the live line's 800 ms to answer it. */
const FINAL_SCRAPE_TIMEOUT_MS = 5000;

/**
 * `switchyard up FILE`: plans the resource and runs every member as a local process on
 * loopback; shows live progress; applies live edits of the file's scalable fields through the
 * protocol; prints a summary (and `--json` a result object) at the end.
 */
export interface UpResult {
  exitCode: number;
  /** The machine-readable result (`--json`). */
  result: Record<string, unknown> & { ok: boolean };
}

export async function up(opts: UpOptions): Promise<UpResult> {
  const out = opts.out;
  const resource = loadResourceFile(opts.file);
  let current = planResource(resource);
  const report = reportFor(current);
  const duration = opts.durationSeconds ?? current.durationSeconds;

  // Member ids are the port offsets; every member the spec may scale to keeps its ports free.
  const ports = await findBasePorts(current.reservedIds, METRICS_GAP);
  const doc: NodeDocument = {
    ...current.document,
    addressing: { kind: 'loopback', host: '127.0.0.1', basePort: ports.udp },
    metrics: { kind: 'offset', host: '127.0.0.1', basePort: ports.metrics },
  } as NodeDocument;
  const runDir = mkdtempSync(join(tmpdir(), `switchyard-${current.name}-`));
  if (current.keys) {
    // Fresh key material for this run, readable by this user only, never printed.
    doc.keys = join(runDir, 'keys.json');
    writeFileSync(doc.keys, JSON.stringify(current.keys()), { mode: 0o600 });
  }
  const docPath = join(runDir, 'node-config.json');
  writeFileSync(docPath, JSON.stringify(doc, null, 2));
  out.write(`switchyard: ${current.kind} ${current.name}: ${current.members.length} members on 127.0.0.1 (UDP ${ports.udp}+id, metrics ${ports.metrics}+id); logs in ${runDir}\n`);

  const failures: string[] = [];
  let finished = false;
  let failed: (() => void) | null = null;
  const failedPromise = new Promise<void>((resolve) => (failed = resolve));
  const fail = (reason: string) => {
    failures.push(reason);
    failed?.();
  };

  const metricsUrl = (name: string) => `http://127.0.0.1:${ports.metrics + current.idOf(name)}`;
  const memory: Parameters<typeof scrape>[2] = new Map();
  const members = new Supervisor({
    failFast: opts.failFast ?? false,
    out,
    fail,
    spawn: (m, onExit) => {
      // A new incarnation counts from zero; its gauges (a view, a configuration) went with it.
      const previous = members.get(m.name);
      if (previous) retire(memory, m.name, previous.startedAt);
      return new MemberProcess(m, metricsUrl(m.name), docPath, runDir, onExit);
    },
  });
  const access = urlAccess((member) => members.get(member)!.metricsUrl);
  const running = () => members.processes().filter((p) => p.running).map((p) => p.member.name);
  const scrapeNow = (timeoutMs?: number) => scrape(running(), access, memory, timeoutMs);
  const load = () => members.processes().filter((p) => p.member.load && p.running);

  const stopAll = async () => {
    unwatchFile(opts.file);
    await members.stopAll();
  };
  // Ctrl-C reaches the members too (same process group); they leave it to us, so the summary
  // still gets a last scrape before every member is stopped.
  let onInterrupt: () => void = () => {};
  const interrupted = new Promise<'interrupted'>((resolve) => {
    onInterrupt = () => resolve('interrupted');
    process.once('SIGINT', onInterrupt);
  });

  // Start phase by phase: each waits for the previous phase to be ready.
  let ready = 0;
  const phases = [...new Set(current.members.map((m) => m.phase))].sort((a, b) => a - b);
  for (const phase of phases) {
    const started = current.members.filter((m) => m.phase === phase).map((m) => members.launch(m).member.name);
    const ok = await Promise.all(started.map((name) => members.ready(name, READY_TIMEOUT_MS)));
    ready += ok.filter(Boolean).length;
    const notReady = started.filter((_, i) => !ok[i]);
    if (notReady.length > 0) {
      for (const name of notReady) {
        if (!failures.some((f) => f.startsWith(name))) failures.push(`${name} not ready after ${READY_TIMEOUT_MS / 1000}s`);
        out.write(`switchyard: ${name} did not become ready; its last log lines:\n${members.get(name)!.tail.map((l) => `  ${l}`).join('\n')}\n`);
      }
      break;
    }
  }
  const expected = current.members.length;
  if (failures.length === 0 && current.warmupSeconds > 0) {
    out.write(`switchyard: warming up for ${current.warmupSeconds}s (not measured)\n`);
    await Promise.race([new Promise((r) => setTimeout(r, current.warmupSeconds * 1000)), interrupted]);
  }

  // A member that misses this scrape counts from zero (its start), as when none answers it.
  const base = await scrapeNow();
  const started = Date.now();
  let outcome: 'done' | 'interrupted' | 'failed' = failures.length > 0 ? 'failed' : 'done';
  let histories: HistoryCheck | null = null;
  let final: Snapshot | null = null;
  let drained: Snapshot | null = null;
  const live = new LiveView(report, out, started, base);
  let seconds = 0;

  if (outcome === 'done') {
    // Live edits of the file: scalable fields go through the protocol, others are refused.
    // Edits apply one at a time, in order; `desired` is the plan of the latest edit taken, so a
    // member an edit starts is never stopped as unwanted by an earlier edit's sweep.
    let desired = current;
    let edits = Promise.resolve();
    watchFile(opts.file, { interval: 500 }, () => {
      edits = edits.then(applyEdit).catch((err) => {
        out.write(`\nswitchyard: ${(err as Error).message}\n`);
      });
    });
    // Members no longer wanted leave through the protocol first, then their processes stop.
    const sweepUnwanted = () => setTimeout(() => {
      const wanted = new Set(desired.members.map((m) => m.name));
      for (const p of members.processes()) if (!wanted.has(p.member.name)) void members.stop(p.member.name);
    }, 2000);
    const applyEdit = async () => {
      const next = planResource(loadResourceFile(opts.file));
      if (!isDeepStrictEqual(withoutLive(next.document, next.liveFields), withoutLive(current.document, current.liveFields))) {
        out.write(`\nswitchyard: only ${next.liveFields.join(', ')} can change on a running testbed; other edits need a restart\n`);
        return;
      }
      desired = next;
      for (const m of next.members) if (!members.wants(m.name)) {
        // An incarnation a sweep is stopping must free its ports first.
        await members.get(m.name)?.stop();
        members.launch(m);
        await members.ready(m.name, READY_TIMEOUT_MS);
      }
      if (!next.reconfigure) return;
      const target = members.get(next.reconfigure.member)!;
      const res = await fetch(`${target.metricsUrl}/admin`, { method: 'POST', body: JSON.stringify(next.reconfigure.command) })
        .catch((err: Error) => ({ ok: false, text: async () => err.message }));
      if (!res.ok) {
        desired = current;
        sweepUnwanted();
        throw new Error(`reconfiguration refused: ${await res.text()}`);
      }
      out.write(`\nswitchyard: applied ${JSON.stringify(next.reconfigure.command)}\n`);
      current = next;
      sweepUnwanted();
    };

    const stall = new StallWatch(current);
    void (async () => {
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        if (finished) return;
        const now = await scrapeNow();
        if (finished) return;
        live.show(now, members.wanted(), members.restarts());
        const stalled = stall.observe(now, running());
        if (stalled) {
          out.write(`\nswitchyard: ${stalled}\n`);
          return fail(stalled);
        }
      }
    })();
    const timer = new Promise<'done'>((resolve) => setTimeout(() => resolve('done'), duration * 1000));
    outcome = await Promise.race([timer, interrupted, failedPromise.then(() => 'failed' as const)]);
    finished = true;
    // The measurement window ends here; what follows (history collection, drain) is bookkeeping.
    final = await scrapeNow(FINAL_SCRAPE_TIMEOUT_MS);
    seconds = (Date.now() - started) / 1000;
    live.end();
    if (current.histories) {
      try {
        // A client waiting for its restart has nothing to read: its dead incarnation is among the lost.
        histories = await collectHistories(current, load(), members.lost.filter((l) => members.get(l.member)?.member.load), join(runDir, 'history.json'));
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    if (current.drain) drained = await drainLoad(current, load(), () => scrapeNow(), DRAIN_TIMEOUT_MS);
    // Drain: stop the load first so in-flight messages are delivered before the final scrape.
    for (const p of members.processes()) if (p.member.load) await members.stop(p.member.name);
    await new Promise((r) => setTimeout(r, 500));
  }
  if (!final) {
    final = await scrapeNow(FINAL_SCRAPE_TIMEOUT_MS);
    seconds = (Date.now() - started) / 1000;
  }
  await stopAll();
  // One process may run many testbeds (switchyard bench): leave no listener behind.
  process.removeListener('SIGINT', onInterrupt);

  const { ok, table, result } = verdictOf({
    report, kind: current.kind, name: current.name, base, final, seconds, drained: drained ?? final,
    members: { expected, ready }, failures, histories, interrupted: outcome === 'interrupted', timeline: live.timeline, restarts: members.restarts(),
  });
  out.write(formatTable(table));
  return { exitCode: ok ? (outcome === 'interrupted' ? 130 : 0) : 1, result };
}
