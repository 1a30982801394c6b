import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { NodeDocument } from '../config.js';
import { memberNameOf, membership } from '../members.js';
import { addressBook } from '../net/addressing.js';
import { impair, isImpaired } from '../net/impair.js';
import type { Clock } from '../net/transport.js';
import { UdpTransport } from '../net/udp.js';
import { timerScheduler } from './clock.js';
import type { Codec, Core, NodeId } from './core.js';
import { Driver } from './driver.js';
import { transportMetrics } from './metrics.js';
import { SeededRandom } from './random.js';

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
export function endpoints(doc: NodeDocument, id: NodeId) {
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
  doc: NodeDocument,
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
      book: addressBook(doc.addressing, memberNameOf(doc)),
      isMember: membership(doc),
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
  const server = await serveHttp(metrics.host, metrics.port, registry, driver, logger, parts.routes ?? {});
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

async function serveHttp(host: string, port: number, registry: Registry, driver: Driver<unknown>, logger: Logger, routes: Record<string, () => unknown>): Promise<Server> {
  const server = createServer((req, res) => {
    handle(req, res, registry, driver, routes).catch((err) => {
      logger.error({ err: (err as Error).message }, 'HTTP handler failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve metrics on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, registry: Registry, driver: Driver<unknown>, routes: Record<string, () => unknown>): Promise<void> {
  const url = req.url ?? '/';
  const route = req.method === 'GET' ? routes[url] : undefined;
  if (route) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(route()));
  } else if (req.method === 'GET' && url === '/metrics') {
    res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
  } else if (req.method === 'GET' && url === '/metrics.json') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await registry.getMetricsAsJSON()));
  } else if (req.method === 'GET' && (url === '/healthz' || url === '/readyz')) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  } else if (req.method === 'POST' && url === '/admin') {
    const body = await readBody(req);
    try {
      driver.command(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
    }
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
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

export function memberLogger(doc: NodeDocument, me: MemberIdentity): Logger {
  return pino({ level: doc.logLevel, base: { system: doc.system, testbed: doc.name, member: me.name } });
}
