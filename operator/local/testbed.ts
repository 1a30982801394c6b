import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeDocument } from '../../node/config.js';
import { plan as planResource } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { loadResourceFile } from '../schema/resources.js';
import { urlAccess } from '../report/access.js';
import { type HistoryCheck, checkHistory, fetchHistories, modelFor, wholeHistory } from '../report/histories.js';
import { withLostIncarnations } from '../report/lost-histories.js';
import { type Snapshot, retire, scrape } from '../report/scrape.js';
import { StallWatch } from '../report/stall.js';
import { LiveView, type TestbedResult, formatTable, verdictOf } from '../report/summary.js';
import type { SystemReport } from '../report/system-report.js';
import { reportFor } from '../report/systems.js';
import { LiveEdits } from './live-edits.js';
import { MemberProcess } from './members.js';
import { findBasePorts } from './ports.js';
import { Supervisor } from './supervisor.js';

/**
 * How long a started member may take to answer /readyz. A member that dies is reported at once;
 * this bounds only a slow start: a phase starts up to ~20 Node processes at once, which on a busy
 * 2-core machine (builds running beside the suite) took past 20 s.
 */
const READY_TIMEOUT_MS = 60_000;
/**
 * How long the load may take to finish what it sent: at least this, and at least the window's
 * length — a server left over capacity all run (LWRR's hottest under the paper's Fig. 7 skew)
 * holds a backlog that grows with the run, and requests it still serves are slow, not lost.
 */
const DRAIN_TIMEOUT_MS = 10_000;
const METRICS_GAP = 2500;
const HISTORY_TIMEOUT_MS = 10_000;
/** The summary comes from the last scrape: a loaded machine gets longer than the live line's 800 ms to answer it. */
const FINAL_SCRAPE_TIMEOUT_MS = 5000;

export interface TestbedOptions {
  file: string;
  /** Overrides the spec's workload duration. */
  durationSeconds?: number;
  /** Where progress and the summary table go (stderr when --json keeps stdout for the result). */
  out: NodeJS.WritableStream;
  /** A member that dies fails the run (today's behaviour before restarts; expendable members excepted). */
  failFast?: boolean;
}

/** The measurement window: its first and last scrape and its length, and how it ended. */
interface Window {
  /** False when launching failed: nothing was measured, the load is not drained. */
  opened: boolean;
  base: Snapshot;
  final: Snapshot;
  seconds: number;
  outcome: 'done' | 'interrupted' | 'failed';
  live: LiveView;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One `switchyard up` testbed: a resource's plan run as local processes on loopback. Its phases,
 * in order: launch (phase by phase, each waiting for the previous one to be ready), warm up (not
 * measured), measure (live progress, live edits of the file, the stall watch), collect the
 * client histories, drain the load, stop; the verdict is built from what they observed.
 */
export class Testbed<J extends object> {
  private readonly failures: string[] = [];
  private readonly failed: Promise<'failed'>;
  private fail: (reason: string) => void = () => {};
  /** The measurement window ended: the live loop stops scraping. */
  private finished = false;
  private readonly memory: NonNullable<Parameters<typeof scrape>[2]> = new Map();
  private readonly members: Supervisor;
  private readonly edits: LiveEdits;
  private readonly interrupted: Promise<'interrupted'>;
  private onInterrupt: () => void = () => {};
  private ready = 0;
  private readonly expected: number;

  /**
   * Plans the resource in `opts.file`, reserves its ports and writes its members' configuration;
   * starts nothing. `expected`: the report its caller reads the result with (a bench), which
   * must be the one of the resource's system.
   */
  static async open(opts: TestbedOptions, expected?: SystemReport): Promise<Testbed<object>> {
    const plan = planResource(loadResourceFile(opts.file));
    const report = reportFor(plan);
    if (expected && expected !== report) throw new Error(`${plan.kind} ${plan.name} runs another system than the one its results are read for`);
    // Member ids are the port offsets; every member the spec may scale to keeps its ports free.
    const ports = await findBasePorts(plan.reservedIds, METRICS_GAP);
    const doc: NodeDocument = {
      ...plan.document,
      addressing: { kind: 'loopback', host: '127.0.0.1', basePort: ports.udp },
      metrics: { kind: 'offset', host: '127.0.0.1', basePort: ports.metrics },
    } as NodeDocument;
    const runDir = mkdtempSync(join(tmpdir(), `switchyard-${plan.name}-`));
    if (plan.keys) {
      // Fresh key material for this run, readable by this user only, never printed.
      doc.keys = join(runDir, 'keys.json');
      writeFileSync(doc.keys, JSON.stringify(plan.keys()), { mode: 0o600 });
    }
    const docPath = join(runDir, 'node-config.json');
    writeFileSync(docPath, JSON.stringify(doc, null, 2));
    opts.out.write(`switchyard: ${plan.kind} ${plan.name}: ${plan.members.length} members on 127.0.0.1 (UDP ${ports.udp}+id, metrics ${ports.metrics}+id); logs in ${runDir}\n`);
    return new Testbed(opts, report, plan, ports.metrics, runDir, docPath);
  }

  private constructor(private readonly opts: TestbedOptions, readonly report: SystemReport<J>, plan: Plan, metricsPort: number,
    private readonly runDir: string, docPath: string) {
    this.expected = plan.members.length;
    this.failed = new Promise((resolve) => {
      this.fail = (reason) => {
        this.failures.push(reason);
        resolve('failed');
      };
    });
    const metricsUrl = (name: string) => `http://127.0.0.1:${metricsPort + plan.idOf(name)}`;
    this.members = new Supervisor({
      failFast: opts.failFast ?? false,
      out: opts.out,
      fail: (reason) => this.fail(reason),
      spawn: (m, onExit) => {
        // A new incarnation counts from zero; its gauges (a view, a configuration) went with it.
        const previous = this.members.get(m.name);
        if (previous) retire(this.memory, m.name, previous.startedAt);
        return new MemberProcess(m, metricsUrl(m.name), docPath, runDir, onExit);
      },
    });
    this.edits = new LiveEdits(opts.file, plan, this.members, opts.out, READY_TIMEOUT_MS);
    // Ctrl-C reaches the members too (same process group); they leave it to us, so the summary
    // still gets a last scrape before every member is stopped.
    this.interrupted = new Promise((resolve) => {
      this.onInterrupt = () => resolve('interrupted');
      process.once('SIGINT', this.onInterrupt);
    });
  }

  private get plan() {
    return this.edits.current;
  }

  private running(): string[] {
    return this.members.processes().filter((p) => p.running).map((p) => p.member.name);
  }

  private scrape(timeoutMs?: number): Promise<Snapshot> {
    return scrape(this.running(), urlAccess((member) => this.members.get(member)!.metricsUrl), this.memory, timeoutMs);
  }

  private load(): MemberProcess[] {
    return this.members.processes().filter((p) => p.member.load && p.running);
  }

  /** Starts the members phase by phase: each waits for the previous phase to be ready. */
  async launch(): Promise<void> {
    const phases = [...new Set(this.plan.members.map((m) => m.phase))].sort((a, b) => a - b);
    for (const phase of phases) {
      const started = this.plan.members.filter((m) => m.phase === phase).map((m) => this.members.launch(m).member.name);
      const ok = await Promise.all(started.map((name) => this.members.ready(name, READY_TIMEOUT_MS)));
      this.ready += ok.filter(Boolean).length;
      const notReady = started.filter((_, i) => !ok[i]);
      if (notReady.length > 0) {
        for (const name of notReady) {
          if (!this.failures.some((f) => f.startsWith(name))) this.failures.push(`${name} not ready after ${READY_TIMEOUT_MS / 1000}s`);
          this.opts.out.write(`switchyard: ${name} did not become ready; its last log lines:\n${this.members.get(name)!.tail.map((l) => `  ${l}`).join('\n')}\n`);
        }
        return;
      }
    }
  }

  /** The plan's warm-up, not measured (skipped once something failed). */
  async warmUp(): Promise<void> {
    if (this.failures.length > 0 || this.plan.warmupSeconds <= 0) return;
    this.opts.out.write(`switchyard: warming up for ${this.plan.warmupSeconds}s (not measured)\n`);
    await Promise.race([sleep(this.plan.warmupSeconds * 1000), this.interrupted]);
  }

  /**
   * The measurement window: a progress line per second, live edits applied, the stall watch
   * failing the run; it ends when the duration passes, on Ctrl-C or on a failure. Not opened
   * when launching already failed.
   */
  async measure(): Promise<Window> {
    // A member that misses this scrape counts from zero (its start), as when none answers it.
    const base = await this.scrape();
    const started = Date.now();
    const live = new LiveView(this.report, this.opts.out, started, base);
    const opened = this.failures.length === 0;
    let outcome: Window['outcome'] = 'failed';
    if (opened) {
      this.edits.watch();
      void this.watchProgress(live, new StallWatch(this.plan));
      const duration = this.opts.durationSeconds ?? this.plan.durationSeconds;
      const timer = sleep(duration * 1000).then(() => 'done' as const);
      outcome = await Promise.race([timer, this.interrupted, this.failed]);
      this.finished = true;
    }
    // The measurement window ends here; what follows (history collection, drain) is bookkeeping.
    const final = await this.scrape(FINAL_SCRAPE_TIMEOUT_MS);
    const seconds = (Date.now() - started) / 1000;
    if (opened) live.end();
    return { opened, base, final, seconds, outcome, live };
  }

  /** Each second: the live line, then the stall watch (a stall fails the run). */
  private async watchProgress(live: LiveView, stall: StallWatch): Promise<void> {
    for (;;) {
      await sleep(1000);
      if (this.finished) return;
      const now = await this.scrape();
      if (this.finished) return;
      live.show(now, this.members.wanted(), this.members.restarts());
      const stalled = stall.observe(now, this.running());
      if (stalled) {
        this.opts.out.write(`\nswitchyard: ${stalled}\n`);
        return this.fail(stalled);
      }
    }
  }

  /**
   * Asks every client to stop issuing (its outstanding request may still finish), then reads
   * their recorded histories, writes them to the run directory and checks them together: a
   * history is only complete once no client adds to it. Client incarnations that died took
   * their histories with them (withLostIncarnations says how they are checked). Null when the
   * plan keeps none; an unreadable history fails the run.
   */
  async collectHistories(): Promise<HistoryCheck | null> {
    if (!this.plan.histories) return null;
    try {
      const clients = this.load();
      // A client waiting for its restart has nothing to read: its dead incarnation is among the lost.
      const lost = this.members.lost.filter((l) => this.members.get(l.member)?.member.load);
      await Promise.all(clients.map((c) => fetch(`${c.metricsUrl}/admin`, { method: 'POST', body: '{"stop":true}' }).catch(() => null)));
      await sleep(1000);
      const access = urlAccess((member) => clients.find((c) => c.member.name === member)!.metricsUrl);
      const histories = await fetchHistories(clients.map((c) => c.member.name), access, HISTORY_TIMEOUT_MS);
      const model = modelFor(this.plan);
      return await checkHistory(withLostIncarnations(wholeHistory(histories), lost, model), model, join(this.runDir, 'history.json'));
    } catch (err) {
      this.failures.push((err as Error).message);
      return null;
    }
  }

  /**
   * Lets the load members finish what they sent (the plan's drain): they stop issuing requests,
   * and the testbed polls until nothing is outstanding (or the drain times out). Returns the
   * scrape that shows the end, or null when the plan has no drain. Then stops the load, so
   * in-flight messages are delivered before the final scrape.
   */
  async drain(windowSeconds: number): Promise<Snapshot | null> {
    let drained: Snapshot | null = null;
    const drain = this.plan.drain;
    if (drain) {
      // A client that died meanwhile has nothing to drain (and is not waited for).
      await Promise.all(this.load().map((c) => fetch(`${c.metricsUrl}/admin`, { method: 'POST', body: JSON.stringify(drain.command) }).catch(() => null)));
      const until = Date.now() + Math.max(DRAIN_TIMEOUT_MS, windowSeconds * 1000);
      for (;;) {
        drained = await this.scrape();
        if (drained.sum(drain.outstanding) === 0 || Date.now() > until) break;
        await sleep(200);
      }
    }
    for (const p of this.members.processes()) if (p.member.load) await this.members.stop(p.member.name);
    await sleep(500);
    return drained;
  }

  /** Stops every member; one process may run many testbeds (switchyard bench): leaves no listener behind. */
  async stop(): Promise<void> {
    this.edits.unwatch();
    await this.members.stopAll();
    process.removeListener('SIGINT', this.onInterrupt);
  }

  /** The verdict on the run, as `switchyard status` builds it too; prints the summary table. */
  verdict(w: Window, histories: HistoryCheck | null, drained: Snapshot | null): { exitCode: number; result: TestbedResult<J> } {
    const { ok, table, result } = verdictOf({
      report: this.report, kind: this.plan.kind, name: this.plan.name, base: w.base, final: w.final, seconds: w.seconds, drained: drained ?? w.final,
      members: { expected: this.expected, ready: this.ready }, failures: this.failures, histories, interrupted: w.outcome === 'interrupted',
      timeline: w.live.timeline, restarts: this.members.restarts(),
    });
    this.opts.out.write(formatTable(table));
    return { exitCode: ok ? (w.outcome === 'interrupted' ? 130 : 0) : 1, result };
  }
}
