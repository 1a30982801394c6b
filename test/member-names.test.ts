import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseNodeDocument } from '../node/config.js';
import { memberNameOf, membership, resolveMember } from '../node/members.js';
import { podName } from '../node/runtime/addressing.js';
import { plan } from '../operator/plan/plan.js';
import { render } from '../operator/render/render.js';
import { parseResource } from '../operator/schema/resources.js';

const opts = { image: 'switchyard:test', imagePullPolicy: 'IfNotPresent' as const, clusterDomain: 'cluster.local', podMonitor: false };
const examples = readdirSync('examples').filter((f) => f.endsWith('.yaml'));

test('every pod of every example resolves to a member of its testbed, one pod per member', () => {
  assert.ok(examples.length >= 6);
  for (const file of examples) {
    const resource = parseResource(parse(readFileSync(`examples/${file}`, 'utf8')));
    const p = plan(resource);
    const owner = { kind: resource.kind, name: resource.metadata.name, namespace: 'lab', uid: 'u-1' };
    const objects = render(p, owner, opts) as any[];
    // The document as a pod reads it from the ConfigMap, validated as at start-up.
    const doc = parseNodeDocument(JSON.parse(objects.find((o) => o.kind === 'ConfigMap').data['node-config.json']), file);
    const resolved: string[] = [];
    for (const sts of objects.filter((o) => o.kind === 'StatefulSet')) {
      const args: string[] = sts.spec.template.spec.containers[0].args;
      const role = args[args.indexOf('--role') + 1]!;
      for (let ordinal = 0; ordinal < sts.spec.replicas; ordinal++) {
        const host = `${sts.metadata.name}-${ordinal}`;
        let member;
        try {
          member = resolveMember(role, doc, host);
        } catch (err) {
          assert.fail(`${file}: pod ${host} (--role ${role}) does not start: ${(err as Error).message}`);
        }
        // Members find it by the pod name they derive from its member name.
        assert.equal(`${owner.name}-${podName(memberNameOf(doc)(member.id))}`, host, `${file}: ${member.name} is addressed at another pod`);
        assert.equal(member.id, p.idOf(member.name), `${file}: ${member.name} has another id in the plan`);
        resolved.push(member.name);
      }
    }
    assert.deepEqual(resolved.sort(), p.members.map((m) => m.name).sort(), `${file}: the pods are not the plan's members`);
  }
});

test('a member name needs the testbed to have it; a workload name needs a pod of that workload', () => {
  const resource = parseResource(parse(readFileSync('examples/bftcluster.yaml', 'utf8')));
  const doc = { ...plan(resource).document, addressing: { kind: 'loopback', host: '127.0.0.1', basePort: 20_000 }, metrics: { kind: 'offset', host: '127.0.0.1', basePort: 30_000 } };
  const d = parseNodeDocument(doc, 'test');
  assert.deepEqual(resolveMember('sequencer-1', d, 'laptop'), { name: 'sequencer-1', id: 2 });
  assert.throws(() => resolveMember('replica-9', d, 'laptop'), /replica 9 does not exist/);
  assert.throws(() => resolveMember('sequencer', d, 'laptop'), /--role sequencer needs an ordinal/);
  assert.throws(() => resolveMember('sequencer', d, 'other-sequencer-0'), /not a pod of bft-sequencer/);
  assert.throws(() => resolveMember('replica', d, 'bft-replica-7'), /replica 7 does not exist/);
});

test('the transport\'s membership check: members of the testbed, not every id their system could name', () => {
  const resource = parseResource(parse(readFileSync('examples/bftcluster.yaml', 'utf8')));
  const d = parseNodeDocument({ ...plan(resource).document, addressing: { kind: 'dns', prefix: 'bft', domain: 'bft.lab', port: 7000 }, metrics: { kind: 'fixed', port: 9464 } }, 'test');
  const isMember = membership(d);
  assert.deepEqual([1, 10, 13, 100, 103].map(isMember), [true, true, true, true, true]);
  // A fifth replica and client, a client id from a forged request (81536), nothing at all.
  assert.deepEqual([14, 104, 100 + 81_536, 0, -3, 5.5].map(isMember), [false, false, false, false, false, false]);
});
