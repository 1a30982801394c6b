import { type ClientProtocol, type ClientWorkload, KvClient, type KvClientObserver } from '../apps/kv-client.js';
import { decodeKvRequest } from '../apps/kv.js';
import { shardOf } from '../apps/shard.js';
import { configNodes, type HydraTopology, clientNode, sequencerNode } from '../hydra/topology.js';
import type { Random } from '../runtime/core.js';
import { type HydraPaxosMsg, slotKey } from './messages.js';

export interface HydraPaxosClientParams<I, O> {
  client: number;
  topology: HydraTopology;
  workload: ClientWorkload<I, O>;
  /** The Hydra groups (shards) a request goes to, as a bitmap. */
  groupsOf(payload: Uint8Array): number;
  requests: number;
  retryUs: number;
  thinkUs?: number;
}

/** HydraPaxos's requests go to the group of their key. */
export const kvGroups = (groups: number) => (payload: Uint8Array) => 1 << shardOf(decodeKvRequest(payload).op.key, groups);

/**
 * The client side of HydraPaxos and HydraTxn: a request is a Hydra message to its groups through a random
 * active sequencer (a retry picks again, so a failed sequencer is routed around); it commits
 * on f+1 replies for the same (view, slot), one of them the leader's, which carries the result
 * (NOPaxos's client rule), from every group it went to (a HydraTxn transaction's shards). The
 * client follows Hydra's configurations to know the sequencers.
 */
export function hydraPaxosClient<I, O>(p: HydraPaxosClientParams<I, O>, rng: Random, obs: KvClientObserver<I, O>): KvClient<HydraPaxosMsg, I, O> {
  let active = p.topology.initial.active.map((a) => a.sequencer);
  let config = p.topology.initial.config;
  let msgId = 0;
  const f = Math.floor((p.topology.receiversPerGroup - 1) / 2);
  const protocol: ClientProtocol<HydraPaxosMsg> = {
    quorum: f + 1,
    send(ctx, payload) {
      if (active.length === 0) return;
      const sequencer = active[Math.floor(rng.next() * active.length)]!;
      ctx.send(sequencerNode(sequencer), { type: 'client', client: p.client, msgId: ++msgId, groups: p.groupsOf(payload), sentAt: ctx.now, payload });
    },
    reply: (m) => (m.type === 'px-reply'
      ? { replica: m.replica, client: m.client, requestId: m.requestId, result: m.result, match: `${m.view}/${slotKey(m.slot)}`, part: m.group }
      : null),
    verify: (m) => (m.type === 'px-reply' && m.replica < p.topology.receiversPerGroup ? 'ok' : 'unknown-replica'),
    observe(ctx, m) {
      if (m.type !== 'config') return;
      ctx.multicast(configNodes(p.topology), { type: 'configack', member: clientNode(p.client), config: m.config });
      if (m.config > config) {
        config = m.config;
        active = m.active.map((a) => a.sequencer);
      }
    },
  };
  return new KvClient({ client: p.client, workload: p.workload, requests: p.requests, retryUs: p.retryUs, thinkUs: p.thinkUs }, protocol, rng, obs);
}
