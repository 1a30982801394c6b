import { type ClientProtocol, KvClient, type KvClientObserver } from '../apps/kv-client.js';
import { decodeKvRequest } from '../apps/kv.js';
import { CONFIG_SERVICE, type HydraTopology, clientNode, sequencerNode } from '../hydra/topology.js';
import type { Random } from '../runtime/core.js';
import { type HydraPaxosMsg, slotKey } from './messages.js';

export interface HydraPaxosClientParams {
  client: number;
  topology: HydraTopology;
  keySpace: number;
  requests: number;
  retryUs: number;
}

/** Which group (shard) holds a key: FNV-1a of the key, modulo the number of groups. */
export function shardOf(key: string, groups: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % groups;
}

/**
 * HydraPaxos's client side: a request is a Hydra message to the key's group through a random
 * active sequencer (a retry picks again, so a failed sequencer is routed around); it commits
 * on f+1 replies for the same (view, slot), one of them the leader's, which carries the result
 * (NOPaxos's client rule). The client follows Hydra's configurations to know the sequencers.
 */
export function hydraPaxosClient(p: HydraPaxosClientParams, rng: Random, obs: KvClientObserver): KvClient<HydraPaxosMsg> {
  let active = p.topology.initial.active.map((a) => a.sequencer);
  let config = p.topology.initial.config;
  let msgId = 0;
  const f = Math.floor((p.topology.receiversPerGroup - 1) / 2);
  const protocol: ClientProtocol<HydraPaxosMsg> = {
    quorum: f + 1,
    send(ctx, payload) {
      if (active.length === 0) return;
      const group = shardOf(decodeKvRequest(payload).op.key, p.topology.groups);
      const sequencer = active[Math.floor(rng.next() * active.length)]!;
      ctx.send(sequencerNode(sequencer), { type: 'client', client: p.client, msgId: ++msgId, groups: 1 << group, sentAt: ctx.now, payload });
    },
    reply: (m) => (m.type === 'px-reply'
      ? { replica: m.replica, client: m.client, requestId: m.requestId, result: m.result, match: `${m.view}/${slotKey(m.slot)}` }
      : null),
    verify: (m) => (m.type === 'px-reply' && m.replica < p.topology.receiversPerGroup ? 'ok' : 'unknown-replica'),
    observe(ctx, m) {
      if (m.type !== 'config') return;
      ctx.send(CONFIG_SERVICE, { type: 'configack', member: clientNode(p.client), config: m.config });
      if (m.config > config) {
        config = m.config;
        active = m.active.map((a) => a.sequencer);
      }
    },
  };
  return new KvClient({ client: p.client, keySpace: p.keySpace, requests: p.requests, retryUs: p.retryUs }, protocol, rng, obs);
}
