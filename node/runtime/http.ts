import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Reply {
  status: number;
  type?: string;
  body: string;
}

/** Handlers keyed by method and path, e.g. `GET /metrics`. */
export type Routes = Record<string, (req: IncomingMessage) => Reply | Promise<Reply>>;

export const text = (status: number, body: string): Reply => ({ status, type: 'text/plain', body });
export const json = (value: unknown): Reply => ({ status: 200, type: 'application/json', body: JSON.stringify(value) });

/** Prometheus text and JSON from a registry, and the health probes every member answers. */
export function metricsRoutes(registry: Registry): Routes {
  return {
    'GET /metrics': async () => ({ status: 200, type: registry.contentType, body: await registry.metrics() }),
    'GET /metrics.json': async () => json(await registry.getMetricsAsJSON()),
    'GET /healthz': () => text(200, 'ok\n'),
    'GET /readyz': () => text(200, 'ok\n'),
  };
}

/**
 * Serves `routes`, matched on the path alone: a query string (Prometheus scrape `params`, the API
 * server's pod proxy passing its own) never turns an endpoint into a 404.
 */
export async function serveRoutes(port: number, host: string | undefined, routes: Routes, onError: (err: Error) => void): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://member').pathname;
    const route = routes[`${req.method} ${path}`];
    Promise.resolve(route ? route(req) : text(404, 'not found\n'))
      .then((reply) => {
        res.writeHead(reply.status, reply.type ? { 'content-type': reply.type } : {}).end(reply.body);
      })
      .catch((err) => {
        onError(err as Error);
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve HTTP on ${host ?? '*'}:${port}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  return server;
}
