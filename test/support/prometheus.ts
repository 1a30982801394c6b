import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../kube/envtest.js';

/**
 * The directory holding `prometheus` and `promtool` (installing Debian's package on the first run,
 * scripts/prometheus/install.sh), or why they cannot be had on this machine.
 */
export function prometheusTools(): { dir: string } | { skip: string } {
  const run = spawnSync('bash', ['scripts/prometheus/install.sh'], { encoding: 'utf8' });
  if (run.status === 3) return { skip: run.stderr.trim().split('\n').at(-1)! };
  if (run.status !== 0) throw new Error(`scripts/prometheus/install.sh failed (${run.status}):\n${run.stderr}`);
  return { dir: run.stdout.trim().split('\n').at(-1)! };
}

export interface Target {
  /** host:port */
  address: string;
  /** For messages only: the scraped series keep the labels the process exports. */
  name: string;
}

export interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

/** Prometheus refused a query (bad PromQL): no point in asking again. */
export class PromQlError extends Error {}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; the error names `what` and the last probe's failure. Bad PromQL fails at once. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      if (err instanceof PromQlError) throw err;
      last = `: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last}`);
    await sleep(500);
  }
}

/** promtool's complaints about one `/metrics` text (empty when clean). */
export function promtoolProblems(tools: string, exposition: string): string[] {
  const run = spawnSync(join(tools, 'promtool'), ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (run.error) throw run.error;
  return `${run.stdout}\n${run.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** One active scrape target, as /api/v1/targets reports it. */
export interface ActiveTarget {
  /** After relabelling: job, instance, and (Kubernetes discovery) namespace, pod, … */
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

/**
 * Prometheus's HTTP API at `url`. A request Prometheus refuses (bad PromQL) throws PromQlError with
 * its reason; `alive` runs before each request, to report a server that has gone.
 */
export function prometheusApi(url: string, alive: () => void = () => {}) {
  /** GET /api/v1/PATH: the `data` of a success. */
  const get = async <T>(path: string, params: Record<string, string | string[]> = {}): Promise<T> => {
    alive();
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) q.append(k, one);
    const res = await fetch(`${url}/api/v1/${path}?${q}`);
    const text = await res.text();
    let body: { status?: string; data?: T; errorType?: string; error?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`Prometheus /api/v1/${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (body.status !== 'success') throw new PromQlError(`${body.errorType ?? `HTTP ${res.status}`}: ${body.error ?? text.slice(0, 200)}`);
    return body.data as T;
  };
  return {
    url,
    get,
    /** An instant query now; throws PromQlError when Prometheus refuses the expression. */
    query: async (expr: string): Promise<Series[]> => {
      const data = await get<{ resultType: string; result: Series[] }>('query', { query: expr });
      if (data.resultType !== 'vector') throw new PromQlError(`${expr}: a ${data.resultType}, not an instant vector`);
      return data.result;
    },
    /** Values of `label` on series matching `match` over the last `seconds` (what Grafana's label_values() asks). */
    labelValues: async (label: string, match: string | undefined, seconds: number): Promise<string[]> => {
      const end = Date.now() / 1000;
      return get<string[]>(`label/${encodeURIComponent(label)}/values`, { ...(match ? { 'match[]': match } : {}), start: String(end - seconds), end: String(end) });
    },
    /** The active scrape targets. */
    targets: async (): Promise<ActiveTarget[]> => (await get<{ activeTargets: ActiveTarget[] }>('targets', { state: 'active' })).activeTargets,
  };
}

export type PrometheusApi = ReturnType<typeof prometheusApi>;

/**
 * A real Prometheus server on a loopback port with its own data directory, scraping whatever
 * `setTargets` names (file-based discovery) every `scrapeSeconds`, plus its HTTP API.
 */
export async function startPrometheus(tools: string, scrapeSeconds: number) {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-prometheus-'));
  const port = await freePort();
  const targetsFile = join(dir, 'targets.json');
  writeFileSync(targetsFile, '[]');
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify({
    global: { scrape_interval: `${scrapeSeconds}s`, scrape_timeout: `${scrapeSeconds}s`, evaluation_interval: `${scrapeSeconds}s` },
    scrape_configs: [{
      job_name: 'switchyard',
      // Every scrape carries a query string, as scrapes through the API server's pod proxy do.
      params: { scraper: ['prometheus'] },
      file_sd_configs: [{ files: [targetsFile], refresh_interval: '1s' }],
    }],
  }));
  const proc: ChildProcess = spawn(join(tools, 'prometheus'), [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (c) => (log = (log + c).slice(-10_000)));
  proc.stderr!.on('data', (c) => (log = (log + c).slice(-10_000)));
  const url = `http://127.0.0.1:${port}`;

  await eventually('prometheus to be ready', async () => proc.exitCode === null && (await fetch(`${url}/-/ready`)).ok, 60_000)
    .catch((err) => {
      proc.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${log}`);
    });

  return {
    ...prometheusApi(url, () => {
      if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}):\n${log}`);
    }),
    /** Replaces the scraped targets (written atomically: discovery reads the file on change). */
    setTargets(targets: Target[]) {
      writeFileSync(`${targetsFile}.tmp`, JSON.stringify([{ targets: targets.map((t) => t.address) }]));
      renameSync(`${targetsFile}.tmp`, targetsFile);
    },
    log: () => log,
    async stop() {
      if (proc.exitCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Prometheus = Awaited<ReturnType<typeof startPrometheus>>;
