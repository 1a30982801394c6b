import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `switchyard up FILE --duration S --json` as a child process, for tests that act on a running
 * testbed: wait for progress, kill a member by its role, then read the final JSON line.
 */
export function spawnUp(file: string, seconds: number, args: string[] = []) {
  const child = spawn(process.execPath, ['dist/cli/switchyard.js', 'up', file, '--duration', String(seconds), '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c) => (out.stdout += c));
  child.stderr.on('data', (c) => (out.stderr += c));
  let running = true;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    running = false;
    resolve(code);
  }));
  const logDir = () => out.stderr.match(/logs in (\S+)/)![1]!;
  return {
    out,
    exited,
    /**
     * Waits (up to `timeoutMs`, and no longer than the run) until the progress output after its
     * first `since` characters matches; says whether it did.
     */
    async waitFor(pattern: RegExp, since = 0, timeoutMs = 60_000): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out.stderr.slice(since)) && Date.now() < deadline && running) await new Promise((r) => setTimeout(r, 200));
      return pattern.test(out.stderr.slice(since));
    },
    /** The pid of the member process playing `role`. */
    pidOf(role: string): number {
      return Number(execFileSync('pgrep', ['-f', `${logDir()}/node-config.json --role ${role}$`]).toString().trim().split('\n')[0]);
    },
    /** Lines of every member's log matching `pattern`, prefixed with the member (for a failing test's message). */
    logLines(pattern: RegExp): string[] {
      const dir = logDir();
      return readdirSync(dir).filter((f) => f.endsWith('.log')).flatMap((f) =>
        readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => pattern.test(l)).map((l) => `${f.replace(/\.log$/, '')}: ${l}`));
    },
    result: () => JSON.parse(out.stdout.trim().split('\n').at(-1)!),
    /** Ctrl-C: the runner takes its last scrape, stops every member and prints its result. */
    interrupt: () => child.kill('SIGINT'),
  };
}
