import type { KvClient } from '../apps/kv-client.js';
import type { Operation } from '../check/linearizability.js';
import { HydraSim, type HydraSimOptions, defaultSimOptions } from '../hydra/simulation.js';
import { clientNode, receiversOf } from '../hydra/topology.js';
import type { NodeId } from '../runtime/core.js';
import { type HydraApplication, clientApplication, replicaApplication } from './application.js';
import { hydraPaxosClient } from './client.js';
import { hydraPaxosCodec } from './codec.js';
import type { HydraPaxosMsg } from './messages.js';
import { HydraPaxosReplica, type ViewChangeReason } from './replica.js';

export interface HydraPaxosSimOptions extends HydraSimOptions {
  /** HydraPaxos (key-value requests) or HydraTxn (transactions; `multiGroupShare` of them span two shards). */
  application: HydraApplication;
  requestsPerClient: number;
  keySpace: number;
  retryUs: number;
  syncIntervalUs: number;
  viewChangeUs: number;
  /** A replica's state request is repeated after this long. */
  stateRetryUs: number;
  /** Clients pause this long between requests (0: closed loop at full speed). */
  thinkUs: number;
  /** The deliberately broken variant (see HydraPaxosParams.unsafeLocalNoops), for the checker's own test. */
  unsafe: boolean;
}

export const defaultPaxosSimOptions: HydraPaxosSimOptions = {
  ...defaultSimOptions, application: 'hydrapaxos', groups: 1, clients: 4, rate: 0, multiGroupShare: 0, requestsPerClient: 100, keySpace: 8, retryUs: 20_000,
  syncIntervalUs: 5_000, viewChangeUs: 40_000, stateRetryUs: 20_000, thinkUs: 0, unsafe: false,
};

/**
 * A HydraPaxos or HydraTxn testbed in the simulated network: Hydra's sequencers and
 * configuration service, replicas as its receivers, closed-loop clients whose histories are kept.
 */
export class HydraPaxosSim {
  readonly hydra: HydraSim<HydraPaxosMsg>;
  readonly history: Operation<unknown, unknown>[] = [];
  /** What crashed clients left unanswered (a restart boots a client afresh): it may or may not take effect. */
  private readonly abandoned: Operation<unknown, unknown>[] = [];
  readonly counters = { noops: 0, viewChanges: 0, stateTransfers: 0, retries: 0, found: 0, dropped: 0 };
  /** Requests and messages replicas refused, by reason. */
  readonly rejections = new Map<string, number>();
  readonly viewChanges: { at: number; node: NodeId; view: number; reason: ViewChangeReason }[] = [];

  constructor(readonly o: HydraPaxosSimOptions) {
    this.hydra = new HydraSim<HydraPaxosMsg>(o, {
      codec: hydraPaxosCodec,
      receiver: (node, params, hydra) => {
        const { id: _id, group, ...receiver } = params;
        return new HydraPaxosReplica({
          id: node, group, replicas: receiversOf(params.topology, group), receiver, ...replicaApplication(o.application, params.topology, group), syncIntervalUs: o.syncIntervalUs,
          viewChangeUs: o.viewChangeUs, gapRetryUs: 2_000, gapCommitUs: 6_000, stateRetryUs: o.stateRetryUs, unsafeLocalNoops: o.unsafe,
        }, {
          executed() {}, hydra,
          rejected: (reason) => this.rejections.set(reason, (this.rejections.get(reason) ?? 0) + 1),
          noopCommitted: () => this.counters.noops++,
          viewChanged: (view, reason) => {
            this.counters.viewChanges++;
            this.viewChanges.push({ at: this.net.now, node, view, reason });
          },
          stateTransferred: () => this.counters.stateTransfers++,
          crossShardDecided: (outcome) => this.counters[outcome]++,
        });
      },
      client: (c, rng, topology) => {
        // A client booted again is a restart (`hydra` is still unset while the first boots run).
        const before = this.hydra?.core(clientNode(c)) as KvClient<HydraPaxosMsg, unknown, unknown> | undefined;
        if (before?.pending) this.abandoned.push(before.pending);
        return hydraPaxosClient(
          {
            client: c, topology, requests: o.requestsPerClient, retryUs: o.retryUs, thinkUs: o.thinkUs,
            ...clientApplication(o.application, topology.groups, o.keySpace, o.multiGroupShare),
          },
          rng,
          { completed: (op) => this.history.push(op), retried: () => this.counters.retries++, rejectedReply() {} },
        );
      },
    });
  }

  get net() {
    return this.hydra.net;
  }

  replica(node: NodeId): HydraPaxosReplica {
    return this.hydra.core(node) as HydraPaxosReplica;
  }

  client(c: number): KvClient<HydraPaxosMsg, unknown, unknown> {
    return this.hydra.core(clientNode(c)) as KvClient<HydraPaxosMsg, unknown, unknown>;
  }

  /** The history with every operation still outstanding (it may or may not have taken effect). */
  fullHistory(): Operation<unknown, unknown>[] {
    const pending = Array.from({ length: this.o.clients }, (_, c) => this.client(c).pending).filter((p) => p !== null);
    return [...this.history, ...this.abandoned, ...pending];
  }
}
