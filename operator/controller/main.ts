import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ApisApi, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import pino from 'pino';
import { metricsRoutes, serveRoutes, text } from '../../node/runtime/http.js';
import { newRegistry } from '../../node/runtime/metrics.js';
import { KINDS } from '../schema/crd.js';
import { apiServerAccess, urlAccess } from '../members/access.js';
import { METRICS_PORT, type RenderOptions } from '../render/render.js';
import { CHILD_KINDS, InformerSet, PODS, crdWatchable } from './informers.js';
import { Kube } from './kube.js';
import { LeaderElector } from './leader.js';
import { operatorMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { Reconciler } from './reconciler.js';

export interface OperatorOptions {
  /** Namespaces to watch; null for all. */
  namespaces: string[] | null;
  /** Namespace of the operator's own leader Lease. */
  leaseNamespace: string;
  leaseName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  httpPort: number;
  workers: number;
  resyncMs: number;
  render: RenderOptions;
  /** A URL template for members' HTTP endpoints (see `urlAccess`), or `apiserver` for the API server's pod proxy. */
  memberUrl: string;
  stallAfterMs: number;
  observeEveryMs: number;
  logLevel: string;
}

/**
 * `switchyard operator`: leader election on a Lease, informers on the three kinds and every
 * child kind, a work queue with per-object serialization and rate-limited retries, periodic
 * resync, `/healthz`, `/readyz`, `/metrics`, and a graceful stop on SIGTERM (the lease is
 * released so a standby takes over at once).
 */
export async function runOperator(o: OperatorOptions): Promise<void> {
  const log = pino({ level: o.logLevel, base: { component: 'switchyard-operator' } });
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const kube = new Kube(kc);
  const registry = newRegistry({ component: 'operator' });
  const m = operatorMetrics(registry);
  const informers = new InformerSet(kube, o.namespaces, log);
  const queue = new WorkQueue();
  const render = { ...o.render, podMonitor: o.render.podMonitor && (await prometheusOperatorInstalled(kc, log)) };
  const access = o.memberUrl === 'apiserver' ? apiServerAccess(kc, METRICS_PORT) : urlAccess(o.memberUrl, o.render.clusterDomain);
  const reconciler = new Reconciler(kube, informers, {
    render, access, stallAfterMs: o.stallAfterMs, observeEveryMs: o.observeEveryMs, counted: (r) => m.memberReads.labels(r).inc(),
  }, log);
  const byKind = new Map(KINDS.map((k) => [k.kind, k]));
  let synced = false;

  // Keys whose next pass must apply the children (a child changed, a resync); other passes
  // (a pod changed, the resource's status changed, the periodic look) only observe.
  const full = new Set<string>();
  const enqueue = (key: string, applyChildren: boolean) => {
    if (applyChildren) full.add(key);
    queue.add(key);
  };
  const enqueueObject = (kind: string, applyChildren: boolean) => (obj: KubernetesObject) => {
    const md = obj.metadata;
    if (md?.namespace && md.name) enqueue(`${kind}/${md.namespace}/${md.name}`, applyChildren);
  };
  const enqueueOwner = (applyChildren: boolean) => (obj: KubernetesObject) => {
    const l = obj.metadata?.labels ?? {};
    const kind = l['switchyard.dev/kind'];
    const testbed = l['switchyard.dev/testbed'];
    if (kind && testbed && obj.metadata?.namespace) enqueue(`${kind}/${obj.metadata.namespace}/${testbed}`, applyChildren);
  };

  const handle = async (key: string) => {
    const [kind, namespace, name] = key.split('/') as [string, string, string];
    const k = byKind.get(kind)!;
    const end = m.seconds.startTimer({ kind });
    try {
      const outcome = await reconciler.reconcile(k, namespace, name, full.delete(key));
      m.reconciles.labels(kind, outcome.result).inc();
      queue.forget(key);
      if (outcome.result === 'requeue') queue.addAfter(key, outcome.afterMs);
    } catch (err) {
      m.reconciles.labels(kind, 'error').inc();
      const delay = queue.retry(key);
      log.warn({ key, err: (err as Error).message, retryInMs: delay }, 'reconcile failed');
    } finally {
      end();
      m.queue.set(queue.length);
    }
  };

  let resync: NodeJS.Timeout | null = null;
  const startControllers = async () => {
    m.leader.set(1);
    // A new generation is applied whatever the pass (the reconciler remembers which it applied).
    for (const k of KINDS) await informers.watch(crdWatchable(k.plural), enqueueObject(k.kind, false));
    for (const c of CHILD_KINDS) await informers.watch(c, enqueueOwner(true));
    await informers.watch(PODS, enqueueOwner(false));
    synced = true;
    resync = setInterval(() => {
      for (const k of KINDS) for (const obj of informers.list(k.plural)) enqueueObject(k.kind, true)(obj);
    }, o.resyncMs);
    log.info({ namespaces: o.namespaces ?? 'all' }, 'controllers started');
    await queue.run(o.workers, handle);
  };

  const elector = new LeaderElector(
    kube.coordination,
    {
      namespace: o.leaseNamespace, name: o.leaseName, identity: `${hostname()}-${randomBytes(4).toString('hex')}`,
      leaseDurationMs: o.leaseDurationMs, renewDeadlineMs: o.renewDeadlineMs, retryPeriodMs: o.retryPeriodMs,
    },
    log,
    () => {
      startControllers().catch((err) => {
        log.fatal({ err: (err as Error).message }, 'controllers failed to start');
        process.exit(1);
      });
    },
    () => {
      // Another replica may act now: stop at once; the pod restarts as a standby.
      m.leader.set(0);
      process.exit(1);
    },
  );

  const server = await serveRoutes(o.httpPort, undefined, {
    ...metricsRoutes(registry),
    // A standby is ready (it can take over); a leader once its caches have synced.
    'GET /readyz': () => (!elector.isLeader || synced ? text(200, 'ok\n') : text(503, 'caches not synced\n')),
  }, (err) => log.error({ err: err.message }, 'HTTP handler failed'));
  log.info({ port: o.httpPort }, 'operator serving /healthz, /readyz and /metrics');
  elector.start();

  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    queue.stop();
    if (resync) clearInterval(resync);
    await elector.release();
    await informers.stop();
    server.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/** PodMonitors only when the Prometheus Operator's API is served (API discovery needs no extra RBAC). */
async function prometheusOperatorInstalled(kc: KubeConfig, log: pino.Logger): Promise<boolean> {
  try {
    const groups = await kc.makeApiClient(ApisApi).getAPIVersions();
    if (groups.groups.some((g) => g.name === 'monitoring.coreos.com')) return true;
    log.warn('PodMonitors asked for, but the Prometheus Operator\'s CRDs are not installed: testbeds get none');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'API discovery failed: testbeds get no PodMonitor');
  }
  return false;
}
