import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireError } from '../node/runtime/core.js';
import { SeededRandom } from '../node/runtime/random.js';
import { checksum } from '../node/capybara/tcp/checksum.js';
import type { TcpConnection } from '../node/capybara/tcp/connection.js';
import { ACK, FIN, PSH, RST, SYN, type TcpPacket, decodeTcpPacket, encodeTcpPacket, rewriteEndpoint } from '../node/capybara/tcp/packet.js';
import { defaultTcpParams } from '../node/capybara/tcp/params.js';
import { TcpStack } from '../node/capybara/tcp/stack.js';
import { decodeTcpState, encodeTcpState } from '../node/capybara/tcp/state-codec.js';
import { fixTcpChecksum } from './support/tcp-checksums.js';

const A = 0x0a000001;
const B = 0x0a000002;

function packet(overrides: Partial<TcpPacket> = {}): TcpPacket {
  return {
    srcIp: A, dstIp: B, srcPort: 49152, dstPort: 80, seq: 0xfffffff0, ack: 12345, flags: ACK | PSH, window: 4096,
    payload: new TextEncoder().encode('GET key\r\n'), ...overrides,
  };
}

function rejects(bytes: Uint8Array, reason: string): void {
  assert.throws(() => decodeTcpPacket(bytes), (e: unknown) => e instanceof WireError && e.reason === reason, `expected ${reason}`);
}

test('Internet checksum matches RFC 1071 §3 worked example', () => {
  // The example's words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
  assert.equal(checksum(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), ~0xddf2 & 0xffff);
});

test('a TCP/IPv4 packet round-trips with its header fields, SYN options and payload', () => {
  const syn = packet({ flags: SYN, mss: 1460, wscale: 7, payload: new Uint8Array(0), seq: 7 });
  assert.deepEqual(decodeTcpPacket(encodeTcpPacket(syn)), syn);
  const data = packet();
  const decoded = decodeTcpPacket(encodeTcpPacket(data));
  assert.deepEqual({ ...decoded, payload: [...decoded.payload] }, { ...data, payload: [...data.payload] });
  // An odd payload length exercises the checksum's padding.
  const odd = packet({ payload: new Uint8Array([1, 2, 3]), flags: ACK | FIN });
  assert.deepEqual([...decodeTcpPacket(encodeTcpPacket(odd)).payload], [1, 2, 3]);
});

test('every single-bit corruption of a packet is rejected with a reason, never accepted', () => {
  const bytes = encodeTcpPacket(packet({ flags: SYN | ACK, mss: 1400, wscale: 3 }));
  const reasons = new Set<string>();
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const copy = bytes.slice();
    copy[bit >> 3]! ^= 1 << (bit & 7);
    try {
      decodeTcpPacket(copy);
      assert.fail(`bit ${bit} flipped and the packet was accepted`);
    } catch (e) {
      assert.ok(e instanceof WireError, `bit ${bit}: ${String(e)}`);
      reasons.add(e.reason);
    }
  }
  assert.ok(reasons.has('bad-ip-checksum') && reasons.has('bad-tcp-checksum') && reasons.has('bad-ip-header'), [...reasons].join(','));
});

test('malformed packets are rejected with specific reasons', () => {
  const good = encodeTcpPacket(packet());
  rejects(good.subarray(0, 3), 'truncated');
  rejects(good.subarray(0, good.length - 1), 'bad-ip-header'); // total length disagrees
  // A data offset beyond the segment, with both checksums made right.
  const p = packet({ payload: new Uint8Array(0) });
  const bad = encodeTcpPacket(p);
  bad[32] = 0xf0;
  fixTcpChecksum(bad);
  rejects(bad, 'bad-tcp-header');
  // An MSS option of the wrong length.
  const opt = encodeTcpPacket(packet({ flags: SYN, mss: 1460, payload: new Uint8Array(0) }));
  opt[41] = 3;
  fixTcpChecksum(opt);
  rejects(opt, 'bad-tcp-option');
});

test('rewriting an address in place keeps both checksums valid (RFC 1624 incremental update)', () => {
  const rng = new SeededRandom(5);
  for (let i = 0; i < 200; i++) {
    const p = packet({ srcIp: rng.int(2 ** 32), dstIp: rng.int(2 ** 32), srcPort: rng.int(65536), dstPort: rng.int(65536), payload: new Uint8Array(rng.int(40)).map(() => rng.int(256)) });
    const bytes = encodeTcpPacket(p);
    const ip = rng.int(2 ** 32);
    const port = rng.int(65536);
    const end = i % 2 === 0 ? 'dst' : 'src';
    rewriteEndpoint(bytes, end, ip, port);
    const expected = encodeTcpPacket(end === 'dst' ? { ...p, dstIp: ip, dstPort: port } : { ...p, srcIp: ip, srcPort: port });
    assert.deepEqual([...bytes], [...expected]);
  }
});

/** Two stacks wired back to back, delivering every packet at once. */
function pair() {
  const a = new TcpStack(A, defaultTcpParams, new SeededRandom(1));
  const b = new TcpStack(B, defaultTcpParams, new SeededRandom(2));
  let now = 0;
  const wire: TcpPacket[] = [];
  const pump = () => {
    for (let rounds = 0; rounds < 100; rounds++) {
      a.flush(now);
      b.flush(now);
      const out = [...a.outbox(), ...b.outbox()];
      wire.push(...out);
      if (out.length === 0) return;
      for (const p of out) (p.dstIp === A ? a : b).receive(now, decodeTcpPacket(encodeTcpPacket(p)));
    }
    throw new Error('packets kept flowing');
  };
  return { a, b, wire, pump, tick: (us: number) => { now += us; a.timers(now); b.timers(now); pump(); } };
}

test('a segment for a closed port is answered with a reset; a connect to it is refused', () => {
  const { a, b, pump } = pair();
  const conn = a.connect({ ip: B, port: 81 });
  pump();
  assert.equal(conn.state, 'CLOSED');
  assert.ok(a.events().some((e) => e.kind === 'closed' && e.reason === 'refused'));
  assert.equal(b.counters.resets, 1);
});

test('handshake negotiates MSS and window scaling; the state of an established connection encodes and decodes exactly', () => {
  const { a, b, wire, pump } = pair();
  b.listen(80);
  const conn = a.connect({ ip: B, port: 80 });
  pump();
  const syn = wire.find((p) => p.flags === SYN)!;
  const synAck = wire.find((p) => p.flags === (SYN | ACK))!;
  assert.equal(syn.mss, 1460);
  assert.equal(syn.wscale, defaultTcpParams.windowShift);
  assert.equal(synAck.wscale, defaultTcpParams.windowShift);
  assert.equal(conn.state, 'ESTABLISHED');
  const accepted = b.events().find((e) => e.kind === 'accepted')!.conn;
  conn.write(new Uint8Array(5000).fill(7));
  accepted.write(new TextEncoder().encode('hello'));
  pump();
  const state = a.exportConnection(0, conn);
  const bytes = encodeTcpState(state);
  assert.deepEqual(encodeTcpState(decodeTcpState(bytes)), bytes);
  assert.deepEqual(decodeTcpState(bytes), state);
  assert.equal(a.connectionCount, 0);
  // Truncated, trailing and out-of-range state bytes are refused with reasons.
  assert.throws(() => decodeTcpState(bytes.subarray(0, bytes.length - 3)), (e: unknown) => e instanceof WireError && e.reason === 'truncated');
  assert.throws(() => decodeTcpState(new Uint8Array([...bytes, 0])), (e: unknown) => e instanceof WireError && e.reason === 'trailing-bytes');
  const badState = bytes.slice();
  // The state byte sits before iss, fin_queued, send_max, srtt, rttvar, rto, timer, retries, ack pending.
  badState[bytes.length - (1 + 4 + 1 + 4 + 4 + 4 + 4 + 4 + 4 + 1)] = 99;
  assert.throws(() => decodeTcpState(badState), (e: unknown) => e instanceof WireError && e.reason === 'bad-tcp-state');
});

test('resets: an inexact in-window reset draws a challenge ACK (RFC 5961); an exact one closes; TIME-WAIT ignores them (RFC 1337)', () => {
  const { a, b, wire, pump, tick } = pair();
  b.listen(80);
  const conn = a.connect({ ip: B, port: 80 });
  pump();
  const peer = b.events().find((e) => e.kind === 'accepted')!.conn;
  const rcvNxt = (wire.find((p) => p.flags === (SYN | ACK))!.seq + 1) >>> 0;
  const rst = (seq: number): TcpPacket => ({ srcIp: B, dstIp: A, srcPort: 80, dstPort: conn.local.port, seq, ack: 0, flags: RST, window: 0, payload: new Uint8Array(0) });
  wire.length = 0;
  a.receive(0, rst(rcvNxt + 10));
  pump();
  assert.equal(conn.state, 'ESTABLISHED');
  assert.ok(wire.some((p) => p.srcIp === A && p.flags === ACK), 'challenge ACK sent');
  // Close both ways; the active closer ends in TIME-WAIT, where a reset changes nothing.
  conn.close();
  pump();
  peer.close();
  pump();
  assert.equal(conn.state, 'TIME_WAIT');
  a.receive(0, rst((rcvNxt + 1) >>> 0)); // exact: after the peer's FIN
  assert.equal(conn.state, 'TIME_WAIT');
  tick(defaultTcpParams.timeWaitUs);
  assert.equal(conn.state, 'CLOSED');
  assert.ok(a.events().some((e) => e.kind === 'closed' && e.conn === conn && e.reason === 'normal'));
  // An exact reset closes an established connection.
  const again = a.connect({ ip: B, port: 80 });
  pump();
  const synAck = wire.filter((p) => p.flags === (SYN | ACK) && p.dstPort === again.local.port).at(-1)!;
  a.receive(0, { ...rst((synAck.seq + 1) >>> 0), dstPort: again.local.port });
  assert.equal((again as TcpConnection).state, 'CLOSED');
});

test('writing after close() is an error the application sees', () => {
  const { a, b, pump } = pair();
  b.listen(80);
  const conn = a.connect({ ip: B, port: 80 });
  pump();
  conn.close();
  assert.throws(() => conn.write(new Uint8Array(1)), /after close\(\)/);
});
