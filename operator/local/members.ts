import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { PlannedMember } from '../plan/types.js';

const CLI = new URL('../../cli/switchyard.js', import.meta.url).pathname;
const TAIL_LINES = 25;

/**
 * One incarnation of a member running as a child process, with its output appended to the
 * member's log file (every incarnation's, in turn) and a short tail.
 */
export class MemberProcess {
  readonly tail: string[] = [];
  /** When it was started (ms since the epoch). */
  readonly startedAt = Date.now();
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  stopping = false;

  constructor(readonly member: PlannedMember, readonly metricsUrl: string, docPath: string, runDir: string,
    onExit: (m: MemberProcess) => void) {
    this.log = createWriteStream(join(runDir, `${member.name}.log`), { flags: 'a' });
    // SWITCHYARD_NODE_ARGS passes flags to every member's Node.js, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile.
    const nodeArgs = (process.env.SWITCHYARD_NODE_ARGS ?? '').split(' ').filter(Boolean);
    this.child = spawn(process.execPath, [...nodeArgs, CLI, 'node', '--config', docPath, '--role', member.name], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SWITCHYARD_PARENT_PID: String(process.pid) },
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let partial = '';
      stream.on('data', (chunk: Buffer) => {
        this.log.write(chunk);
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) if (l) this.tail.push(l);
        if (this.tail.length > TAIL_LINES) this.tail.splice(0, this.tail.length - TAIL_LINES);
      });
    }
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      this.log.end();
      onExit(this);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exited === null;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    this.stopping = true;
    if (!this.running) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }

  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.running) {
      try {
        const res = await fetch(`${this.metricsUrl}/readyz`, { signal: AbortSignal.timeout(500) });
        if (res.ok) return true;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }
}
