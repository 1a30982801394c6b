import type { Operation } from '../../node/check/linearizability.js';
import type { SimNetwork } from '../../node/net/sim.js';
import type { NodeId } from '../../node/runtime/core.js';

/**
 * Crashes client 0 (member `node`) once it has completed `after` operations (checked every
 * millisecond) and boots it again, with empty state, `downUs` later; `restartAt` tells when.
 */
export function restartClientMidway(net: SimNetwork, node: NodeId, history: readonly Operation<unknown, unknown>[], after: number, downUs: number) {
  const r = { restartAt: Infinity };
  const poll = () => {
    if (history.filter((op) => op.client === 0).length < after) return net.at(net.now + 1000, poll);
    net.crash(node);
    r.restartAt = net.now + downUs;
    net.at(r.restartAt, () => net.restart(node));
  };
  net.at(1000, poll);
  return r;
}

/**
 * What is wrong with a run whose client 0 restarted at `restartAt`: the restarted client must
 * complete all its `requests` (its request ids must not repeat the crashed incarnation's), and
 * every other client all of its.
 */
export function restartProblems(history: readonly Operation<unknown, unknown>[], o: { clients: number; requests: number; restartAt: number }): string[] {
  const problems: string[] = [];
  const before = history.filter((op) => op.client === 0 && op.call < o.restartAt).length;
  const after = history.filter((op) => op.client === 0 && op.call >= o.restartAt).length;
  const others = history.filter((op) => op.client !== 0).length;
  if (o.restartAt === Infinity || before >= o.requests) problems.push(`client 0 never crashed midway (${before} operations before)`);
  if (after !== o.requests) problems.push(`the restarted client completed ${after}/${o.requests}`);
  if (others !== (o.clients - 1) * o.requests) problems.push(`the other clients completed ${others}/${(o.clients - 1) * o.requests}`);
  return problems;
}
