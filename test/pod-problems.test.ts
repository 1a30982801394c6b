import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { describeProblems, podProblems } from '../operator/controller/pod-problems.js';
import { type Observed, progressing, readiness } from '../operator/controller/readiness.js';
import { WarningMemory } from '../operator/controller/warnings.js';

/** A member pod with the status a kubelet or the scheduler writes. */
const pod = (name: string, status: V1Pod['status'], deleting = false): V1Pod => ({
  metadata: { name, ...(deleting ? { deletionTimestamp: new Date() } : {}) }, status,
});
const container = (state: object, extra: object = {}) => ({ name: 'member', image: 'switchyard:test', imageID: '', ready: false, restartCount: 0, state, ...extra });

const crashing = pod('bft-sequencer-0', {
  phase: 'Running',
  containerStatuses: [container(
    { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=member pod=bft-sequencer-0_default(1f0c)' } },
    { restartCount: 3, lastState: { terminated: { exitCode: 1, reason: 'Error', message: 'switchyard: unknown BFTCluster member "sequencer" (expected sequencer-N, replica-N or client-N)\n' } } },
  )],
});
const pulling = (name: string, reason: string) => pod(name, {
  phase: 'Pending', containerStatuses: [container({ waiting: { reason, message: 'Back-off pulling image "registry.test/members:broken"' } })],
});
const unschedulable = pod('demo-config-0', {
  phase: 'Pending',
  conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.' }],
});

test('pods that cannot run are named with the reason Kubernetes gives and the container\'s last termination message', () => {
  const fine = pod('demo-client-0', { phase: 'Running', containerStatuses: [container({ running: { startedAt: new Date() } }, { ready: true })] });
  const creating = pod('demo-client-1', { phase: 'Pending', containerStatuses: [container({ waiting: { reason: 'ContainerCreating' } })] });
  const gone = pod('demo-client-2', { phase: 'Pending', containerStatuses: [container({ waiting: { reason: 'ErrImagePull' } })] }, true);
  assert.deepEqual(podProblems([fine, creating, gone]), [], 'running, starting and deleted pods are no problem');

  assert.deepEqual(podProblems([crashing]), [{
    pod: 'bft-sequencer-0', reason: 'CrashLoopBackOff', unschedulable: false,
    detail: 'last termination: Error, exit code 1: switchyard: unknown BFTCluster member "sequencer" (expected sequencer-N, replica-N or client-N)',
  }]);
  assert.deepEqual(podProblems([unschedulable]).map((p) => [p.reason, p.unschedulable]), [['Unschedulable', true]]);
  assert.match(podProblems([unschedulable])[0]!.detail, /Insufficient cpu/);
  // The kubelet alternates ErrImagePull and ImagePullBackOff while a pull keeps failing: one problem.
  assert.deepEqual(podProblems([pulling('a-0', 'ErrImagePull'), pulling('a-1', 'ImagePullBackOff')]).map((p) => p.reason), ['ImagePullBackOff', 'ImagePullBackOff']);
  const config = pod('demo-config-0', { phase: 'Pending', containerStatuses: [container({ waiting: { reason: 'CreateContainerConfigError', message: 'configmap "demo-topology" not found' } })] });
  assert.deepEqual(podProblems([config])[0], { pod: 'demo-config-0', reason: 'CreateContainerConfigError', detail: 'configmap "demo-topology" not found', unschedulable: false });
  const oom = pod('demo-receiver-g0-0', {
    phase: 'Running',
    containerStatuses: [container({ running: { startedAt: new Date() } }, { restartCount: 2, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } })],
  });
  assert.deepEqual(podProblems([oom])[0], { pod: 'demo-receiver-g0-0', reason: 'OOMKilled', detail: 'restarted 2 times; last termination: OOMKilled, exit code 137', unschedulable: false });
  const evicted = pod('demo-client-3', { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' });
  assert.equal(podProblems([evicted])[0]!.reason, 'Evicted');

  const many = Array.from({ length: 7 }, (_, i) => pulling(`demo-m-${i}`, 'ImagePullBackOff'));
  assert.equal(describeProblems(podProblems([...many, crashing])),
    'demo-m-0, demo-m-1, demo-m-2, demo-m-3, demo-m-4 and 2 more: ImagePullBackOff (Back-off pulling image "registry.test/members:broken"); '
    + 'bft-sequencer-0: CrashLoopBackOff (last termination: Error, exit code 1: switchyard: unknown BFTCluster member "sequencer" (expected sequencer-N, replica-N or client-N))');
});

const observed = (o: Partial<Observed>): Observed => ({
  roles: { config: { expected: 1, ready: 1 }, receiver: { expected: 2, ready: 2 } }, members: { expected: 3, ready: 3 }, rolling: [], problems: [], progress: null, ...o,
});

test('Ready and Progressing: failing pods first, then unready ones, then a stalled protocol', () => {
  const notReady = { roles: { config: { expected: 1, ready: 0 }, receiver: { expected: 2, ready: 2 } }, members: { expected: 3, ready: 2 } };
  assert.deepEqual(readiness(observed({ ...notReady, problems: podProblems([unschedulable]) })), {
    status: 'False', reason: 'MembersUnschedulable', message: `demo-config-0: Unschedulable (${podProblems([unschedulable])[0]!.detail})`,
  });
  assert.equal(progressing(observed({ ...notReady, problems: podProblems([unschedulable]) })).reason, 'MembersUnschedulable', 'stuck, not "Stable"');
  assert.equal(readiness(observed({ ...notReady, problems: podProblems([unschedulable, crashing]) })).reason, 'MemberFailing');
  assert.deepEqual(readiness(observed(notReady)), { status: 'False', reason: 'MembersNotReady', message: 'waiting for config 0/1' });
  assert.deepEqual(progressing(observed(notReady)), { status: 'True', reason: 'StartingMembers', message: '2/3 members ready' });
  const stall = 'receivers delivered nothing for 30 s; sequencers kept stamping; configuration service at configuration 1';
  assert.deepEqual(readiness(observed({ progress: { state: 'stalled', message: stall } })), { status: 'False', reason: 'ProtocolStalled', message: stall });
  assert.equal(readiness(observed({ progress: { state: 'unknown', message: 'x' } })).status, 'Unknown');
  assert.deepEqual(readiness(observed({ progress: { state: 'progressing', message: 'receivers delivering' } })),
    { status: 'True', reason: 'AllMembersReady', message: '3/3 members ready; receivers delivering' });
  assert.deepEqual(readiness(observed({ progress: { state: 'waiting', message: '' } })), { status: 'True', reason: 'AllMembersReady', message: '3/3 members ready' });
  assert.equal(progressing(observed({})).reason, 'Stable');
  assert.equal(progressing(observed({ rolling: ['receiver'] })).reason, 'RollingOut');
});

test('a pod problem is told in one Warning Event when it appears, not on every pass, and again if it comes back', () => {
  const w = new WarningMemory();
  assert.equal(w.fresh('ns/bft', podProblems([crashing])).reason, 'MemberFailing');
  assert.deepEqual(w.fresh('ns/bft', podProblems([crashing])), { reason: '', message: '' }, 'same problem, next pass: nothing new');
  const both = w.fresh('ns/bft', podProblems([crashing, pulling('bft-client-0', 'ErrImagePull')]));
  assert.equal(both.message, 'bft-client-0: ImagePullBackOff (Back-off pulling image "registry.test/members:broken")', 'only the new problem');
  assert.equal(w.fresh('ns/bft', podProblems([crashing, pulling('bft-client-0', 'ImagePullBackOff')])).message, '', 'the kubelet\'s alternation is the same problem');
  assert.equal(w.fresh('ns/other', podProblems([unschedulable])).reason, 'MembersUnschedulable');
  w.fresh('ns/bft', []);
  assert.match(w.fresh('ns/bft', podProblems([crashing])).message, /CrashLoopBackOff/, 'back after it went away: told again');
});
