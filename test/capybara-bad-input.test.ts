import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvApp } from '../node/capybara/app/kv.js';
import { capybaraCodec } from '../node/capybara/codec.js';
import { encodeConnState } from '../node/capybara/conn-state.js';
import { type CapybaraMsg, type MigHeader, STAGE } from '../node/capybara/messages.js';
import { CapybaraSim, defaultCapybaraSimOptions } from '../node/capybara/simulation.js';
import { ACK, PSH, SYN, encodeTcpPacket } from '../node/capybara/tcp/packet.js';
import { encodeTcpState } from '../node/capybara/tcp/state-codec.js';
import { SWITCH, VIP, clientNode, ipOf, serverNode } from '../node/capybara/topology.js';
import type { NodeId } from '../node/runtime/core.js';

/**
 * Single crafted datagrams against a running MigratingService (issue 18, bad input): the network
 * is trusted, so a member's address can be spoofed, but no datagram may make a member send to
 * an address no member has, or overwrite a connection a server holds.
 */

const MS = 1000;
const FORGER: NodeId = 999;
const PORT = 6379;

function testbed(): { sim: CapybaraSim; strays: string[] } {
  const sim = new CapybaraSim({
    ...defaultCapybaraSimOptions,
    seed: 5,
    workload: { ...defaultCapybaraSimOptions.workload, connections: 6, rate: 2000, stepAtUs: 1e9 },
    mode: 'capybara',
  });
  const members = new Set<NodeId>([SWITCH, FORGER, ...sim.servers.keys(), ...sim.clients.keys()]);
  const strays: string[] = [];
  sim.net.tap = (from, to) => {
    if (!members.has(to)) strays.push(`${from} → ${to}`);
  };
  return { sim, strays };
}

/** Sends the datagrams, 200 µs apart from `at` µs on (jitter never reorders them), from a node that is no member of the testbed. */
function forge(sim: CapybaraSim, at: number, to: NodeId, datagrams: Uint8Array[]): void {
  sim.net.at(at, () => sim.net.addNode(FORGER, ({ transport }) => ({
    start: () => datagrams.forEach((d, i) => sim.net.at(at + 200 * i, () => transport.send(to, d))),
    stop() {},
  })));
}

/** Lets the clients finish and checks every request was answered once, in order, on an intact connection. */
function drainAndCheck(sim: CapybaraSim): void {
  sim.net.runUntil(80 * MS);
  sim.stopClients();
  sim.net.runUntil(600 * MS);
  for (const [id, c] of sim.clients) {
    const t = c.tally;
    assert.ok(t.completed > 0, `client ${id} completed requests`);
    assert.deepEqual({ outstanding: c.outstanding, duplicated: t.duplicated, mismatched: t.mismatched, resets: t.resets, timeouts: t.timeouts },
      { outstanding: 0, duplicated: 0, mismatched: 0, resets: 0, timeouts: 0 }, `client ${id}`);
  }
}

const segment = (srcIp: number, dstIp: number, flags: number, payload = new Uint8Array(0)) =>
  encodeTcpPacket({ srcIp, dstIp, srcPort: flags & SYN ? 40_000 : PORT, dstPort: flags & SYN ? PORT : 40_000, seq: 1, ack: 1, flags, window: 1000, payload });

test('the L4 switch drops and counts a checksummed segment from a server to an address no client has, and a SYN from one', () => {
  const { sim, strays } = testbed();
  const nowhere = ipOf(16_796_539); // the member id the switch once tried to send to
  forge(sim, 20 * MS, SWITCH, [
    segment(ipOf(serverNode(0)), nowhere, ACK | PSH, new TextEncoder().encode('+OK\r\n')),
    segment(ipOf(clientNode(50)), VIP, SYN),
  ]);
  drainAndCheck(sim);
  assert.deepEqual(strays, []);
  assert.deepEqual(sim.rejections, ['switch: unknown-client', 'switch: unknown-client']);
});

function migration(h: Partial<MigHeader> & Pick<MigHeader, 'stage' | 'clientIp' | 'clientPort'>, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const header: MigHeader = { originIp: ipOf(serverNode(1)), originPort: PORT, fragment: 0, flags: 0, targetIp: ipOf(serverNode(0)), migration: 77, ...h };
  return capybaraCodec.encode({ kind: 'mig', header, payload } satisfies CapybaraMsg);
}

test('a server refuses a PREPARE_MIG for no client, and a CONN_STATE that would replace or shadow a connection it holds', () => {
  const { sim, strays } = testbed();
  const server = sim.servers.get(serverNode(0))!;
  sim.net.runUntil(20 * MS);
  const held = [...server.stack.all()].find((c) => c.state === 'ESTABLISHED');
  assert.ok(held, 'server 0 holds a connection');
  const state = held.exportState(sim.net.now);
  const connState = (tcp: Uint8Array) => encodeConnState({ tcp, app: kvApp.open().exportState(), closing: false, waiting: [] });
  // A client end no connection uses yet, on a real client's address: its PREPARE_MIG is taken.
  const free = { clientIp: held.remote.ip, clientPort: 7 };
  forge(sim, 20 * MS, serverNode(0), [
    migration({ stage: STAGE.prepare, clientIp: ipOf(4242), clientPort: 9 }),
    migration({ stage: STAGE.prepare, ...free }),
    // The held connection's own state (a collision), then the same connection on another port.
    migration({ stage: STAGE.connState, ...free }, connState(encodeTcpState(state))),
    migration({ stage: STAGE.connState, ...free }, connState(encodeTcpState({ ...state, local: { ...state.local, port: 7000 } }))),
    migration({ stage: STAGE.prepare, ...free, originIp: ipOf(77) }),
  ]);
  drainAndCheck(sim);
  assert.deepEqual(strays, []);
  const reasons = sim.rejections.filter((r) => r.startsWith(`${serverNode(0)}:`)).map((r) => r.split(': ')[1]);
  // The forged PREPARE_MIG for a free port left the server waiting for a CONN_STATE that never
  // comes: the wait is let go once the origin does not send it (migration-expired).
  assert.deepEqual(reasons, ['unknown-client', 'state-mismatch', 'state-mismatch', 'unknown-origin', 'migration-expired']);
  assert.ok(!server.stack.lookup(held.remote.ip, 7, PORT) && !server.stack.lookup(held.remote.ip, held.remote.port, 7000), 'nothing was imported');
});
