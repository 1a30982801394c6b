import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { json, metricsRoutes, serveRoutes, text } from '../node/runtime/http.js';

const errors: Error[] = [];
const registry = new Registry();
new Counter({ name: 'switchyard_test_total', help: 'A counter for this test.', registers: [registry] }).inc(3);
const server = await serveRoutes(0, '127.0.0.1', {
  ...metricsRoutes(registry),
  'GET /history.json': () => json({ completed: [] }),
  'POST /admin': () => text(200, 'ok\n'),
  'GET /broken': () => Promise.reject(new Error('handler failed')),
}, (err) => errors.push(err));
after(() => server.close());
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

test('every endpoint answers with or without a query string (scrape params, the API server\'s pod proxy)', async () => {
  for (const query of ['', '?', '?format=prometheus', '?a=1&b=2', '?timeout=10s#frag']) {
    const metrics = await fetch(`${base}/metrics${query}`);
    assert.equal(metrics.status, 200, `/metrics${query}`);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await metrics.text(), /^switchyard_test_total 3$/m);
    const asJson = await fetch(`${base}/metrics.json${query}`);
    assert.equal((await asJson.json())[0].name, 'switchyard_test_total', `/metrics.json${query}`);
    for (const probe of ['/healthz', '/readyz']) assert.equal(await (await fetch(`${base}${probe}${query}`)).text(), 'ok\n', `${probe}${query}`);
    assert.deepEqual(await (await fetch(`${base}/history.json${query}`)).json(), { completed: [] });
    assert.equal((await fetch(`${base}/admin${query}`, { method: 'POST', body: '{}' })).status, 200, `/admin${query}`);
  }
});

test('unknown paths and wrong methods are 404; a failing handler is a 500 and reported', async () => {
  for (const [method, path] of [['GET', '/'], ['GET', '/metricsx?x=1'], ['GET', '/metrics/'], ['POST', '/metrics'], ['GET', '/admin?x']] as const) {
    const res = await fetch(`${base}${path}`, { method });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal(await res.text(), 'not found\n');
  }
  assert.equal((await fetch(`${base}/broken?x=1`)).status, 500);
  assert.deepEqual(errors.map((e) => e.message), ['handler failed']);
});
