import type { CostModel, SimHost } from '../../node/net/sim-machine.js';
import type { Codec } from '../../node/runtime/core.js';
import { median } from './replay.js';
import type { CalibrationTable } from './table.js';

export interface RoleMachine {
  cores: number;
  queueLimit: number;
  /**
   * What each datagram also pays the UDP runtime: its cost in a burst (a busy member), with a
   * wake-up for each received one (a member that sleeps between datagrams, as on a loopback
   * testbed far from saturation), or nothing (a kernel-bypass stack, as in the papers' testbeds).
   */
  udp: 'burst' | 'woken' | 'none';
  /**
   * CPU µs the member's process spends per wake-up beyond its core and the socket (the scheduler,
   * an event-loop turn, the Driver, metrics, a client's history): measured from real member
   * processes by member-runtime.ts; 0 unless set.
   */
  wakeUs?: number;
  /** The machine it shares with other members (unset: one of its own, with `cores` cores). */
  host?: SimHost;
}

/**
 * A simulated member's CostModel from a calibration: a received datagram costs what its message
 * type cost the role's core (classified with the role's codec), plus the UDP runtime's receive
 * cost (`udp`); a sent one the UDP send cost; a wake-up the process's `wakeUs`; a timer what it cost in the calibration (nothing if it never
 * fired there). A type the calibration never saw costs the median of the
 * types it saw (a datagram the codec refuses: `rejected`, if measured).
 */
export function roleCostModel(table: CalibrationTable, role: string, codec: Codec<{ type: string }>, m: RoleMachine): CostModel {
  const costs = table.roles[role];
  if (!costs) throw new Error(`the calibration has no role ${role} (it has ${Object.keys(table.roles).join(', ')})`);
  const messages = Object.entries(costs).filter(([t]) => !t.startsWith('timer:')).map(([, us]) => us);
  const unseen = messages.length ? median(messages) : 0;
  const linear = (c: { baseUs: number; perByteUs: number }, bytes: Uint8Array) => (m.udp === 'none' ? 0 : c.baseUs + c.perByteUs * bytes.length);
  // Woken, a received datagram carries what an echo cost beyond sending the reply.
  const received = (bytes: Uint8Array) => m.udp === 'woken'
    ? Math.max(linear(table.udp.receive, bytes), table.udp.woken.echoUs - linear(table.udp.send, bytes))
    : linear(table.udp.receive, bytes);
  const typeOf = (bytes: Uint8Array) => {
    try {
      return codec.decode(bytes).type;
    } catch {
      return 'rejected';
    }
  };
  return {
    cores: m.cores,
    queueLimit: m.queueLimit,
    host: m.host,
    receiveUs: (bytes) => (costs[typeOf(bytes)] ?? unseen) + received(bytes),
    sendUs: (bytes) => linear(table.udp.send, bytes),
    wakeUs: m.wakeUs,
    timerUs: (name) => costs[`timer:${name}`] ?? 0,
  };
}
