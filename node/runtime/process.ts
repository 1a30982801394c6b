import type { IncomingMessage } from 'node:http';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type Addressing, addressBook } from './addressing.js';
import { impair, isImpaired, type NetworkImpairments } from './impair.js';
import type { Clock } from './transport.js';
import { UdpTransport } from './udp.js';
import { timerScheduler } from './clock.js';
import type { Codec, Core, NodeId } from './core.js';
import { Driver } from './driver.js';
import { json, metricsRoutes, type Routes, serveRoutes, text } from './http.js';
import { transportMetrics } from './metrics.js';
import { SeededRandom } from './random.js';

/**
 * What the runtime needs to know of a testbed to run one of its members: where members listen,
 * where metrics are served, the emulated impairments, and the member names and ids (for DNS
 * names and the transport's "is this a member" check). Each system's wiring derives it from its
 * node document (node/members.ts `memberRuntime`); the runtime knows no system.
 */
export interface MemberRuntime {
  system: string;
  testbed: string;
  seed: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  addressing: Addressing;
  metrics: { kind: 'fixed'; host: string; port: number } | { kind: 'offset'; host: string; basePort: number };
  network: NetworkImpairments;
  nameOf(id: NodeId): string;
  isMember(id: NodeId): boolean;
}

export interface MemberIdentity {
  id: NodeId;
  name: string;
  role: string;
}

export interface MemberParts<M> {
  core: Core<M>;
  codec: Codec<M>;
  clock: Clock;
  /** Extra read-only JSON endpoints (e.g. a client's recorded history at `/history.json`). */
  routes?: Record<string, () => unknown>;
}

const MAX_BODY = 64 * 1024;

/** Where this member listens for datagrams and serves its metrics. */
export function endpoints(doc: Pick<MemberRuntime, 'addressing' | 'metrics'>, id: NodeId) {
  const a = doc.addressing;
  const udp = a.kind === 'loopback' ? { host: a.host, port: a.basePort + id } : { host: '0.0.0.0', port: a.port };
  const m = doc.metrics;
  const metrics = m.kind === 'fixed' ? { host: m.host, port: m.port } : { host: m.host, port: m.basePort + id };
  return { udp, metrics };
}

/**
 * Runs one member as a process: the core over UDP (with emulated impairments when the spec
 * asks for them), a Prometheus endpoint, health probes, an admin endpoint for commands, JSON
 * logs, and a clean stop on SIGTERM/SIGINT.
 */
export async function runMember<M>(
  doc: MemberRuntime,
  me: MemberIdentity,
  registry: Registry,
  logger: Logger,
  parts: MemberParts<M>,
): Promise<void> {
  const { udp, metrics } = endpoints(doc, me.id);
  const tm = transportMetrics(registry);
  const warned = new Set<string>();
  let transport;
  try {
    transport = await UdpTransport.open({
      bindHost: udp.host,
      port: udp.port,
      book: addressBook(doc.addressing, doc.nameOf),
      isMember: doc.isMember,
      onDropped: (reason) => tm.dropped.labels(reason).inc(),
      onSendError: (err) => logger.warn({ err: err.message }, 'UDP send failed'),
    });
  } catch (err) {
    throw new Error(`cannot bind UDP ${udp.host}:${udp.port} for ${me.name}: ${(err as Error).message}`);
  }
  const wire = isImpaired(doc.network) ? impair(transport, doc.network, new SeededRandom(doc.seed * 65_537 + me.id)) : transport;
  const driver = new Driver(parts.core, parts.codec, wire, parts.clock, timerScheduler, {
    received: () => tm.rx.inc(),
    sent: (_bytes, copies) => tm.tx.inc(copies),
    rejected: (reason, detail) => {
      tm.rejected.labels(reason).inc();
      // The first malformed packet of each kind is logged; after that the counter tells.
      if (!warned.has(reason)) {
        warned.add(reason);
        logger.warn({ reason, detail }, 'rejected a malformed datagram');
      }
    },
  });
  driver.start();
  const server = await serveRoutes(metrics.port, metrics.host, memberRoutes(registry, driver, parts.routes ?? {}), (err) =>
    logger.error({ err: err.message }, 'HTTP handler failed'));
  logger.info({ udp, metrics }, `${me.name} ready`);

  const stop = (signal: string) => {
    logger.info({ signal }, `${me.name} stopping`);
    driver.stop();
    server.close();
    setImmediate(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  // Under `switchyard up`, Ctrl-C is the runner's to handle: it takes a last scrape, then stops us.
  if (process.env.SWITCHYARD_PARENT_PID) process.on('SIGINT', () => {});
  else process.once('SIGINT', () => stop('SIGINT'));
}

/** `/metrics`, probes, the role's JSON routes, and `POST /admin` for the runner's and operator's commands. */
function memberRoutes(registry: Registry, driver: Driver<unknown>, routes: Record<string, () => unknown>): Routes {
  const extra = Object.fromEntries(Object.entries(routes).map(([path, read]) => [`GET ${path}`, () => json(read())]));
  return {
    ...metricsRoutes(registry),
    ...extra,
    'POST /admin': async (req) => {
      const body = await readBody(req);
      try {
        driver.command(JSON.parse(body));
        return text(200, 'ok\n');
      } catch (err) {
        return text(400, `${(err as Error).message}\n`);
      }
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function memberLogger(doc: MemberRuntime, me: MemberIdentity): Logger {
  return pino({ level: doc.logLevel, base: { system: doc.system, testbed: doc.testbed, member: me.name } });
}
