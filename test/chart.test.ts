import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { Registry } from 'prom-client';
import { capybaraMetrics } from '../node/capybara/metrics.js';
import { hydraPaxosMetrics } from '../node/hydrapaxos/metrics.js';
import { hydraMetrics } from '../node/hydra/metrics.js';
import { neobftMetrics } from '../node/neobft/metrics.js';
import { transportMetrics } from '../node/runtime/metrics.js';
import { operatorMetrics } from '../operator/controller/metrics.js';
import { type ControlPlane, kubeTools, startControlPlane } from './kube/envtest.js';

const CHART = 'charts/switchyard';
let helmBin = '';
const helm = (args: string[]) => execFileSync(helmBin, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const objects = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS()).filter(Boolean);

before(() => {
  helmBin = join(kubeTools(), 'helm');
});

test('helm lint passes', () => {
  assert.match(helm(['lint', CHART, '--strict']), /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('helm template renders cluster-wide or per-namespace RBAC, monitors and dashboards on request', () => {
  const wide = objects(helm(['template', 'sy', CHART, '--namespace', 'ops']));
  const kinds = wide.map((o) => `${o.kind}/${o.metadata.name}`);
  assert.ok(kinds.includes('ClusterRole/sy-switchyard') && kinds.includes('ClusterRoleBinding/sy-switchyard'));
  assert.ok(!kinds.some((k) => k.startsWith('ServiceMonitor') || k.startsWith('ConfigMap')));
  const deploy = wide.find((o) => o.kind === 'Deployment');
  const c = deploy.spec.template.spec.containers[0];
  assert.equal(c.image, 'ghcr.io/switchyard/switchyard:0.1.0');
  assert.ok(c.args.includes('--member-image=ghcr.io/switchyard/switchyard:0.1.0'), 'members run the operator\'s image unless told otherwise');
  assert.ok(c.args.includes('operator') && !c.args.some((a: string) => a.startsWith('--namespaces')));
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(deploy.spec.template.spec.securityContext.runAsNonRoot, true);

  const scoped = objects(helm(['template', 'sy', CHART, '--namespace', 'ops', '--set', 'watchNamespaces={lab1,lab2}',
    '--set', 'monitoring.serviceMonitor.enabled=true', '--set', 'monitoring.podMonitors.enabled=true', '--set', 'grafana.dashboards.enabled=true']));
  const roles = scoped.filter((o) => o.kind === 'Role').map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
  assert.deepEqual(roles, ['lab1/sy-switchyard', 'lab2/sy-switchyard', 'ops/sy-switchyard-leader-election']);
  assert.ok(!scoped.some((o) => o.kind === 'ClusterRole'));
  const args = scoped.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0].args;
  assert.ok(args.includes('--namespaces=lab1,lab2') && args.includes('--pod-monitor'));
  const split = objects(helm(['template', 'sy', CHART, '--set', 'memberImage.repository=registry.test/members', '--set', 'memberImage.tag=broken']));
  const splitArgs = split.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
  assert.equal(splitArgs.image, 'ghcr.io/switchyard/switchyard:0.1.0', 'the operator keeps its own image');
  assert.ok(splitArgs.args.includes('--member-image=registry.test/members:broken'));
  assert.ok(scoped.some((o) => o.kind === 'ServiceMonitor'));
  const dashboards = scoped.filter((o) => o.kind === 'ConfigMap');
  assert.deepEqual(dashboards.map((d) => d.metadata.labels.grafana_dashboard), dashboards.map(() => '1'));
  assert.equal(dashboards.length, readdirSync(join(CHART, 'dashboards')).length);
});

test('values are checked against values.schema.json', () => {
  assert.throws(() => helm(['template', 'sy', CHART, '--set', 'replicaCount=0']), /replicaCount/);
  assert.throws(() => helm(['template', 'sy', CHART, '--set', 'image.pullPolicy=Sometimes']), /pullPolicy/);
  assert.throws(() => helm(['template', 'sy', CHART, '--set', 'memberImage.registry=x']), /memberImage/);
});

test('every metric a dashboard queries is registered by the code', () => {
  // One registry per process kind, as in real members (clients of both systems share metric names).
  const registries = [new Registry(), new Registry(), new Registry(), new Registry(), new Registry(), new Registry(), new Registry()];
  const hydra = hydraMetrics(registries[0]!, () => 0);
  hydra.sequencer(0);
  const receiver = hydra.receiver();
  hydra.aggregator();
  hydra.configService(1);
  hydra.client();
  const neo = neobftMetrics(registries[1]!);
  neo.sequencer();
  neo.replica(4);
  neo.client('neobft');
  neo.pbftReplica();
  neo.hotstuffReplica();
  neo.zyzzyvaReplica();
  neobftMetrics(registries[6]!).zyzzyvaClient();
  hydraPaxosMetrics(registries[3]!, receiver);
  const capybara = capybaraMetrics(registries[4]!);
  capybara.switch();
  capybara.server(100);
  capybaraMetrics(registries[5]!).client(() => ({ tally: { completed: 0, duplicated: 0, mismatched: 0, resets: 0, timeouts: 0, reconnects: 0, cut: 0, sessionsRebuilt: 0 }, outstanding: 0, open: 0 }));
  transportMetrics(registries[2]!);
  operatorMetrics(registries[2]!);
  const registered = new Set(registries.flatMap((r) => r.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name)));
  for (const file of readdirSync(join(CHART, 'dashboards'))) {
    const d = JSON.parse(readFileSync(join(CHART, 'dashboards', file), 'utf8'));
    assert.ok(d.uid && d.templating.list.some((v: { type: string }) => v.type === 'datasource'), `${file}: fixed uid and a datasource variable`);
    for (const p of d.panels) {
      for (const t of p.targets) {
        if (/rate\(/.test(t.expr)) assert.match(t.expr, /\$__rate_interval/, `${file}: ${p.title}`);
        for (const name of t.expr.match(/switchyard_[a-z0-9_]+/g) ?? []) {
          const base = name.replace(/_(bucket|sum|count)$/, '');
          assert.ok(registered.has(base), `${file}: panel "${p.title}" queries ${name}, which no code registers`);
        }
      }
    }
  }
});

let cp: ControlPlane;
after(async () => {
  await cp?.stop();
});

test('helm install of the chart against a real API server, with RBAC enough for the operator and no more', async () => {
  cp = await startControlPlane();
  cp.helm(['install', 'sy', CHART, '--namespace', 'ops', '--create-namespace', '--wait=false']);
  const crds = JSON.parse(cp.kubectl(['get', 'crd', '-o', 'json'])).items.map((c: { metadata: { name: string } }) => c.metadata.name);
  assert.ok(crds.includes('sequencergroups.switchyard.dev'), 'helm installs the CRDs from crds/');
  assert.equal(JSON.parse(cp.kubectl(['get', 'deployment', 'sy-switchyard', '-n', 'ops', '-o', 'json'])).spec.replicas, 2);
  const as = ['--as', 'system:serviceaccount:ops:sy-switchyard'];
  const can = (args: string[]) => {
    try {
      return cp.kubectl(['auth', 'can-i', ...args, ...as]).trim() === 'yes';
    } catch {
      return false;
    }
  };
  for (const allowed of [
    ['watch', 'sequencergroups.switchyard.dev', '-n', 'lab'], ['patch', 'sequencergroups.switchyard.dev', '--subresource=status', '-n', 'lab'],
    ['create', 'statefulsets.apps', '-n', 'lab'], ['delete', 'configmaps', '-n', 'lab'], ['create', 'networkpolicies.networking.k8s.io', '-n', 'lab'],
    ['create', 'events', '-n', 'lab'], ['list', 'resourcequotas', '-n', 'lab'], ['update', 'leases.coordination.k8s.io', '-n', 'ops'],
    ['watch', 'bftclusters.switchyard.dev', '-n', 'lab'], ['create', 'secrets', '-n', 'lab'], ['get', 'secrets', '-n', 'lab'],
    ['watch', 'pods', '-n', 'lab'], ['list', 'pods', '-n', 'lab'],
  ]) assert.ok(can(allowed), `the operator may ${allowed.join(' ')}`);
  for (const denied of [
    ['patch', 'sequencergroups.switchyard.dev', '-n', 'lab'], ['list', 'secrets', '-n', 'lab'], ['update', 'secrets', '-n', 'lab'], ['create', 'pods', '-n', 'lab'],
    ['delete', 'pods', '-n', 'lab'], ['get', 'pods', '--subresource=proxy', '-n', 'lab'],
    ['update', 'leases.coordination.k8s.io', '-n', 'lab'], ['delete', 'namespaces'],
  ]) assert.ok(!can(denied), `the operator may not ${denied.join(' ')}`);
  assert.match(cp.helm(['status', 'sy', '-n', 'ops']), /STATUS: deployed/);
});
