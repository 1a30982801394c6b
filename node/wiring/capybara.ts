import { randomBytes } from 'node:crypto';
import type { NodeDocument } from '../config.js';
import { memberBasics } from './member.js';
import { EmulatedClock } from '../runtime/clock.js';
import type { Core } from '../runtime/core.js';
import { runMember } from '../runtime/process.js';
import { SeededRandom } from '../runtime/random.js';
import { echoApp } from '../capybara/app/echo.js';
import { kvApp } from '../capybara/app/kv.js';
import { ClientCore } from '../capybara/client.js';
import { capybaraCodec } from '../capybara/codec.js';
import type { CapybaraMsg } from '../capybara/messages.js';
import { capybaraMetrics } from '../capybara/metrics.js';
import { PREPARE_ATTEMPTS } from '../capybara/migration-origin.js';
import type { CapybaraParams } from '../capybara/params.js';
import type { MigrationPolicy } from '../capybara/policy.js';
import { ServerCore, type ServerObserver } from '../capybara/server.js';
import type { Logger } from 'pino';
import { SwitchCore } from '../capybara/switch.js';
import { defaultTcpParams } from '../capybara/tcp/params.js';
import { SWITCH, VIP, serverNode } from '../capybara/topology.js';

/** A connection's peer silent this long is probed (TCP keep-alive), a second in the emulated datacenter. */
const KEEPALIVE_US = 1_000_000;

/** The first rejection of each reason is logged with its detail; after that the counter tells. */
function loggingRejections(observer: ServerObserver, logger: Logger): ServerObserver {
  const warned = new Set<string>();
  return {
    ...observer,
    rejected(reason, detail) {
      observer.rejected(reason, detail);
      if (warned.has(reason)) return;
      warned.add(reason);
      logger.warn({ reason, detail }, 'rejected a migration message or segment');
    },
  };
}

/** The node document's policy (micros, as the document spells time) as the server's. */
function migrationPolicy(p: CapybaraParams['policy']): MigrationPolicy {
  const { cooldownMicros, reactiveCooldownMicros, ...rest } = p;
  return { ...rest, cooldownUs: cooldownMicros, reactiveCooldownUs: reactiveCooldownMicros };
}

/** Starts the MigratingService member named `name` from the testbed's node document. */
export async function startCapybaraMember(doc: NodeDocument & { system: 'capybara' }, name: string): Promise<void> {
  const p = doc.capybara;
  const { me, registry, runtime, logger } = memberBasics(doc, name);
  const { id, role } = me;
  const metrics = capybaraMetrics(registry);
  const servers = Array.from({ length: p.servers }, (_, s) => serverNode(s));
  // A fresh number on every start of this process (the seed is the same on each): a restarted
  // switch or server is told from its predecessor by it.
  const incarnation = randomBytes(4).readUInt32BE(0);
  let core: Core<CapybaraMsg>;
  if (role === 'switch') {
    core = new SwitchCore({ id, vip: VIP, servicePort: p.servicePort, servers, clients: p.clients, assign: p.assign, signalIntervalUs: p.signalIntervalMicros, incarnation }, metrics.switch());
  } else if (role === 'server') {
    core = new ServerCore({
      id, switchNode: SWITCH, servicePort: p.servicePort, servers: p.servers, clients: p.clients, app: p.app === 'kv' ? kvApp : echoApp, mode: p.mode,
      policy: migrationPolicy(p.policy), tcp: defaultTcpParams, signalIntervalUs: p.signalIntervalMicros,
      migrationRetryUs: p.migrationRetryMicros, prepareAttempts: PREPARE_ATTEMPTS, serviceUs: p.serviceMicros,
      forcedEveryUs: p.forcedMigrationMicros, keepaliveUs: KEEPALIVE_US, incarnation,
    }, loggingRejections(metrics.server(id), logger), new SeededRandom(doc.seed * 7919 + id));
  } else {
    const w = p.workload;
    const client: ClientCore = new ClientCore({
      id, switchNode: SWITCH, vip: VIP, servicePort: p.servicePort, tcp: defaultTcpParams, keepaliveUs: KEEPALIVE_US,
      workload: {
        connections: w.connectionsPerClient, rate: w.ratePerClient, loop: w.loop, zipf: w.zipf, stepAtUs: w.stepAtMicros, stepFactor: w.stepFactor,
        bursts: w.bursts && { everyUs: w.bursts.everyMicros, lengthUs: w.bursts.lengthMicros, factor: w.bursts.factor },
        servers: p.servers, app: p.app, stateBytes: w.stateBytes,
      },
    }, metrics.client(() => ({ tally: client.tally, outstanding: client.outstanding, open: client.stack.connectionCount })), new SeededRandom(doc.seed * 104_729 + id));
    core = client;
  }
  await runMember(runtime, me, registry, logger, { core, codec: capybaraCodec, clock: new EmulatedClock() });
}
