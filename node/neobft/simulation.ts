import { halfSipKey } from '../crypto/halfsiphash.js';
import { MacVectorKeys } from '../crypto/macvector.js';
import { hotPathBackend } from '../crypto/signature.js';
import type { KvInput, KvOutput } from '../check/kv-model.js';
import type { Operation } from '../check/linearizability.js';
import { type LinkFaults, SimNetwork } from '../net/sim.js';
import type { Core, NodeId } from '../runtime/core.js';
import { Driver } from '../runtime/driver.js';
import { SeededRandom } from '../runtime/random.js';
import { AomSequencer } from './aom-sequencer.js';
import { neoClient } from './client.js';
import type { KvClient } from '../apps/kv-client.js';
import { neoCodec } from './codec.js';
import type { NeoMsg } from './messages.js';
import { Replica, type ReplicaObserver } from './replica.js';
import { SigningController } from './sign-controller.js';
import { type ReplicaFault, type SequencerFault, byzantine, garbageClient, lyingSequencer } from './faults.js';
import { neoClientNode, replicaNode, sequencerNode, sequencerOfEpoch } from './topology.js';
import { EpochSequencer } from './epoch-sequencer.js';
import { epochKeyring, receiverAuthFor } from './keys.js';
import { openSignedRequest, signRequest } from './requests.js';

export interface NeoSimOptions {
  seed: number;
  f: number;
  scheme: 'hm' | 'pk';
  clients: number;
  requestsPerClient: number;
  faults: Partial<LinkFaults>;
  /** A faulty replica and how it misbehaves. */
  faulty?: { replica: number; behaviour: ReplicaFault };
  /** Sequencer processes (epoch e is ordered by sequencer (e − 1) mod this); 2 unless set. */
  sequencers?: number;
  /** A Byzantine client that floods the sequencer with malformed requests. */
  garbageClient?: boolean;
  /** Replicas wait for 2f+1 CONFIRMs before delivering (they do not trust the sequencer). */
  byzantineNetwork?: boolean;
  /** The first sequencer lies (HM only) every `every`-th number: see `lyingSequencer`. */
  lyingSequencer?: { fault: SequencerFault; every: number };
  /** Clients sign their requests and replicas check the signatures (see requests.ts). */
  signedRequests?: boolean;
  /** Protocol timeouts (µs); the defaults are short, for fast simulated runs. */
  timing?: Partial<NeoSimTiming>;
  /**
   * When each member starts (µs; 0 unless given): members of a real testbed come up at
   * different times (pods scheduled apart, peers resolved late), so timers run before peers exist.
   */
  startAtUs?: (id: NodeId) => number;
}

export interface NeoSimTiming {
  gapUs: number;
  retryUs: number;
  viewChangeUs: number;
  clientRetryUs: number;
}

const SIM_TIMING: NeoSimTiming = { gapUs: 1000, retryUs: 2000, viewChangeUs: 20_000, clientRetryUs: 5000 };


/** A BFTCluster testbed in the simulated network, with every client's history recorded. */
export class NeoSim {
  readonly net: SimNetwork;
  readonly replicas: Replica[] = [];
  readonly clients: KvClient<NeoMsg>[] = [];
  /** Every member's core (its latest boot), by node. */
  readonly cores = new Map<NodeId, Core<NeoMsg>>();
  readonly history: Operation<KvInput, KvOutput>[] = [];
  /** What crashed clients left unanswered (a restart boots a client afresh): it may or may not take effect. */
  private readonly abandoned: Operation<KvInput, KvOutput>[] = [];
  readonly counters = { gapAgreements: 0, noops: 0, rollbacks: 0, retries: 0, invalid: 0, viewChanges: 0, stateTransfers: 0, epoch: 1 };

  /** Set to follow view changes (e.g. to console.log while replaying a seed). */
  trace: ((line: string) => void) | null = null;

  constructor(readonly o: NeoSimOptions) {
    this.net = new SimNetwork(o.seed, o.faults);
    const rng = new SeededRandom(o.seed ^ 0x4e30);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => rng.int(256));
    const n = 3 * o.f + 1;
    const keyring = epochKeyring(bytes(32), n);
    const sequencers = o.sequencers ?? 2;
    const replicaSecrets = Array.from({ length: n }, () => bytes(32));
    const publicKeys = replicaSecrets.map((s) => hotPathBackend.publicKey(s));
    const clientKeys = Array.from({ length: o.clients }, () => Array.from({ length: n }, () => bytes(32)));
    const clientSecrets = Array.from({ length: o.clients }, () => bytes(32));
    const clientPublic = clientSecrets.map((s) => hotPathBackend.publicKey(s));
    const openRequest = o.signedRequests ? (payload: Uint8Array) => openSignedRequest(payload, (c) => clientPublic[c], hotPathBackend) : undefined;
    const replicaIds = Array.from({ length: n }, (_, i) => replicaNode(i));
    const timing = { ...SIM_TIMING, ...o.timing };
    const boot = (id: NodeId, make: () => Core<NeoMsg>) => {
      this.net.addNode(id, ({ transport, clock, scheduler }) => {
        const core = make();
        this.cores.set(id, core);
        return new Driver(core, neoCodec, transport, clock, scheduler);
      });
      const at = o.startAtUs?.(id) ?? 0;
      if (at <= 0) return;
      this.net.crash(id);
      this.net.at(at, () => this.net.restart(id));
    };
    // The lying sequencer is a faulty device: it lies in every epoch it orders (as in a member).
    const ordering = (sequencer: number, epoch: number) => {
      const k = keyring(epoch);
      const hm = () => new MacVectorKeys(k.hm.map(halfSipKey));
      const lie = sequencer === 0 ? o.lyingSequencer : undefined;
      return lyingSequencer(new AomSequencer({
        group: 0, epoch, receivers: replicaIds,
        auth: o.scheme === 'hm'
          ? { scheme: 'hm', keys: hm() }
          : { scheme: 'pk', secret: k.sequencer, backend: hotPathBackend, controller: new SigningController(5000, 16), idleSignUs: 300 },
      }, { authenticated() {} }), lie?.fault ?? 'none', lie?.every ?? 0, hm(), o.signedRequests);
    };
    for (let k = 0; k < sequencers; k++) {
      boot(sequencerNode(k), () => new EpochSequencer({
        index: k, count: sequencers, f: o.f, replicaKeys: { publicKeys, backend: hotPathBackend }, make: (e) => ordering(k, e),
      }, { installed: (e) => { this.trace?.(`${this.net.now} sequencer ${k} installed epoch ${e}`); this.counters.epoch = Math.max(this.counters.epoch, e); }, idle() {} }));
    }
    const sequencerOf = (epoch: number) => sequencerOfEpoch(epoch, sequencers);
    for (let i = 0; i < n; i++) {
      const authFor = receiverAuthFor(keyring, o.scheme, i);
      const faulty = o.faulty?.replica === i ? o.faulty.behaviour : null;
      const keys = { secret: replicaSecrets[i]!, publicKeys, backend: hotPathBackend };
      boot(replicaNode(i), () => {
        if (faulty === 'silent') return { start() {}, receive() {}, timer() {} };
        const r = new Replica({
          index: i, f: o.f, replicas: replicaIds, group: 0, authFor, sequencerNode: sequencerOf,
          keys,
          clientKey: (c) => clientKeys[c]?.[i] ?? new Uint8Array(32), clientNode: neoClientNode, clients: o.clients, gapTimeoutUs: timing.gapUs, retryUs: timing.retryUs,
          viewChangeUs: timing.viewChangeUs, byzantineNetwork: o.byzantineNetwork ?? false, openRequest,
        }, this.replicaObserver(i));
        this.replicas[i] = r;
        return faulty ? byzantine(r, faulty, keys, (c) => clientKeys[c]?.[i] ?? new Uint8Array(32), () => bytes(32)) : r;
      });
    }
    if (o.garbageClient) boot(neoClientNode(o.clients), () => garbageClient<NeoMsg>(sequencerNode(0), (payload) => ({ type: 'aom-request', group: 0, payload }), rng));
    for (let c = 0; c < o.clients; c++) {
      const crng = new SeededRandom(o.seed * 31 + c);
      boot(neoClientNode(c), () => {
        const before = this.clients[c]?.pending;
        if (before) this.abandoned.push(before);
        const client = neoClient({
          client: c, f: o.f, replicas: replicaIds, sequencerOf, group: 0, keys: clientKeys[c]!, keySpace: 4,
          sign: o.signedRequests ? (r) => signRequest(r, clientSecrets[c]!, hotPathBackend) : undefined,
          requests: o.requestsPerClient, retryUs: timing.clientRetryUs,
        }, crng, {
          completed: (op) => this.history.push(op),
          retried: () => this.counters.retries++,
          rejectedReply() {},
        });
        this.clients[c] = client;
        return client;
      });
    }
  }

  /** Replica `i`'s observer: the counters, and the trace. */
  private replicaObserver(i: number): ReplicaObserver {
    return {
      executed() {}, rejected() {}, verified() {}, synced() {},
      stateTransferred: (slot) => {
        this.counters.stateTransfers++;
        this.trace?.(`${this.net.now} replica ${i} took the state at slot ${slot}`);
      },
      viewChanged: (v, why) => {
        this.counters.viewChanges++;
        this.trace?.(`${this.net.now} replica ${i} → view ${v.epoch}/${v.leader} (${why})`);
      },
      viewStarted: (v) => this.trace?.(`${this.net.now} replica ${i} started view ${v.epoch}/${v.leader}`),
      gapAgreement: (_s, outcome) => {
        this.counters.gapAgreements++;
        if (outcome === 'no-op') this.counters.noops++;
      },
      rolledBack: (k) => (this.counters.rollbacks += k),
      invalid: (why) => {
        this.counters.invalid++;
        this.trace?.(`${this.net.now} replica ${i} refused: ${why}`);
      },
    };
  }

  /** The completed operations plus every client's unanswered ones (including those of crashed incarnations). */
  fullHistory(): Operation<KvInput, KvOutput>[] {
    return [...this.history, ...this.abandoned, ...this.clients.flatMap((c) => (c.pending ? [c.pending] : []))];
  }
}
