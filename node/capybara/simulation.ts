import type { Core, NodeId } from '../runtime/core.js';
import { Driver } from '../runtime/driver.js';
import { SeededRandom } from '../runtime/random.js';
import { type LinkFaults, SimNetwork } from '../net/sim.js';
import { echoApp } from './app/echo.js';
import { kvApp } from './app/kv.js';
import { ClientCore, type ClientWorkload } from './client.js';
import { capybaraCodec } from './codec.js';
import type { CapybaraMsg } from './messages.js';
import { type MigrationPolicy, defaultMigrationPolicy } from './policy.js';
import { type MigrationMode, type MigrationPhase, type MigrationResult, ServerCore } from './server.js';
import { PREPARE_ATTEMPTS } from './migration-origin.js';
import type { ServerLoad, Trigger } from './policy.js';
import { type Assignment, SwitchCore } from './switch.js';
import { type TcpParams, defaultTcpParams } from './tcp/params.js';
import { SWITCH, VIP, clientNode, serverNode } from './topology.js';

/**
 * A MigratingService testbed in the seeded simulated network: the switch, servers and client
 * hosts as the same cores the processes run, with every migration, ownership change and
 * rejection recorded for the tests.
 */

export interface CapybaraSimOptions {
  seed: number;
  servers: number;
  clients: number;
  workload: Omit<ClientWorkload, 'servers'>;
  mode: MigrationMode;
  policy: MigrationPolicy;
  tcp: TcpParams;
  faults: Partial<LinkFaults>;
  signalIntervalUs: number;
  migrationRetryUs: number;
  serviceUs: number;
  /** Servers (by index) whose service time differs from `serviceUs`: a slow machine in the cluster. */
  serviceUsOf: Readonly<Record<number, number>>;
  assign: Assignment;
  forcedEveryUs: number | null;
  keepaliveUs: number;
}

export const defaultCapybaraSimOptions: CapybaraSimOptions = {
  seed: 1,
  servers: 3,
  clients: 2,
  workload: { connections: 20, rate: 4000, loop: 'open', zipf: 1.2, stepAtUs: 30_000, stepFactor: 10, bursts: null, app: 'kv', stateBytes: 256 },
  mode: 'capybara',
  policy: { ...defaultMigrationPolicy, cooldownUs: 5_000 },
  tcp: defaultTcpParams,
  faults: { delayUs: 20, jitterUs: 10 },
  signalIntervalUs: 1_000,
  migrationRetryUs: 2_000,
  serviceUs: 0,
  serviceUsOf: {},
  assign: 'round-robin',
  forcedEveryUs: null,
  keepaliveUs: 20_000,
};

export interface MigrationRecord {
  server: NodeId;
  result: MigrationResult;
  phases: Partial<Record<MigrationPhase, number>> | null;
}

export class CapybaraSim {
  readonly net: SimNetwork;
  switchCore!: SwitchCore;
  /** The running incarnation of each server and client. */
  readonly servers = new Map<NodeId, ServerCore>();
  readonly clients = new Map<NodeId, ClientCore>();
  /** Client incarnations that crashed: their tallies, and what they had outstanding when they died. */
  readonly crashedClients: ClientCore[] = [];
  private readonly drivers = new Map<NodeId, Driver<CapybaraMsg>>();
  /** Starts of each member so far (the incarnation of the running one). */
  private readonly starts = new Map<NodeId, number>();
  readonly migrations: MigrationRecord[] = [];
  /** Connections the policy chose, per server and trigger. */
  readonly decisions: { server: NodeId; trigger: Trigger; connections: number; load: ServerLoad }[] = [];
  /** Ownership changes per client connection (endpointKey), migrations and roll-backs only. */
  readonly moves = new Map<number, number>();
  /** Directory entries rebuilt from the servers' claims after a switch restart. */
  recovered = 0;
  /** Requests executed by the servers, every incarnation of them. */
  executed = 0;
  readonly rejections: string[] = [];

  constructor(readonly o: CapybaraSimOptions) {
    this.net = new SimNetwork(o.seed, o.faults);
    const servers = Array.from({ length: o.servers }, (_, s) => serverNode(s));
    this.boot(SWITCH, (incarnation) => (this.switchCore = new SwitchCore({
      id: SWITCH, vip: VIP, servicePort: 6379, servers, clients: o.clients, assign: o.assign, signalIntervalUs: o.signalIntervalUs, incarnation,
    }, {
      forwarded() {}, requests() {}, dropped: (reason) => this.rejections.push(`switch: ${reason}`),
      ownerChanged: (client, _from, _to, why) => {
        if (why === 'recovered') this.recovered++;
        else this.moves.set(client, (this.moves.get(client) ?? 0) + 1);
      },
      recovery() {},
    })));
    servers.forEach((id, index) => {
      this.boot(id, (incarnation) => {
        const core = new ServerCore({
          id, switchNode: SWITCH, servicePort: 6379, servers: o.servers, clients: o.clients, app: o.workload.app === 'kv' ? kvApp : echoApp, mode: o.mode,
          policy: o.policy, tcp: o.tcp, signalIntervalUs: o.signalIntervalUs, migrationRetryUs: o.migrationRetryUs, prepareAttempts: PREPARE_ATTEMPTS, serviceUs: o.serviceUsOf[index] ?? o.serviceUs,
          forcedEveryUs: o.forcedEveryUs, keepaliveUs: o.keepaliveUs, incarnation,
        }, {
          requests: (n) => (this.executed += n), connections() {},
          migration: (result, phases) => this.migrations.push({ server: id, result, phases }),
          decided: (trigger, connections) => this.decisions.push({ server: id, trigger, connections, load: core.lastLoad! }),
          rejected: (reason, detail) => this.rejections.push(`${id}: ${reason}: ${detail}`),
        }, new SeededRandom(o.seed * 31 + id + incarnation * 7_919));
        this.servers.set(id, core);
        return core;
      });
    });
    for (let c = 0; c < o.clients; c++) {
      const id = clientNode(c);
      this.boot(id, (incarnation) => {
        const core = new ClientCore({
          id, switchNode: SWITCH, vip: VIP, servicePort: 6379, tcp: o.tcp, workload: { ...o.workload, servers: o.servers }, keepaliveUs: o.keepaliveUs,
        }, { completed() {} }, new SeededRandom(o.seed * 131 + id + incarnation * 7_919));
        this.clients.set(id, core);
        return core;
      });
    }
  }

  /** Each start of a member builds its core afresh: a restarted member has empty state. */
  private boot(id: NodeId, build: (incarnation: number) => Core<CapybaraMsg>): void {
    this.net.addNode(id, ({ transport, clock, scheduler }) => {
      const incarnation = (this.starts.get(id) ?? 0) + 1;
      this.starts.set(id, incarnation);
      const driver = new Driver<CapybaraMsg>(build(incarnation), capybaraCodec, transport, clock, scheduler, {
        received() {}, sent() {}, rejected: (reason, detail) => this.rejections.push(`${id}: ${reason}: ${detail}`),
      });
      this.drivers.set(id, driver);
      return driver;
    });
  }

  /** Kills a member; a client's lost incarnation is kept for the accounting. */
  crash(id: NodeId): void {
    if (!this.net.isUp(id)) return;
    const client = this.clients.get(id);
    if (client) this.crashedClients.push(client);
    this.net.crash(id);
  }

  /** Starts a crashed member again with empty state; a client that was stopped stays stopped. */
  restart(id: NodeId, stopped: boolean): void {
    this.net.restart(id);
    if (stopped && this.clients.has(id)) this.drivers.get(id)!.command('stop');
  }

  /** Clients stop issuing requests, read their blobs back and close. */
  stopClients(): void {
    for (const id of this.clients.keys()) if (this.net.isUp(id)) this.drivers.get(id)!.command('stop');
  }
}
