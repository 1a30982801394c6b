import type { CostModel, SimHost } from '../../node/net/sim-machine.js';
import type { Codec } from '../../node/runtime/core.js';
import { median } from './replay.js';
import type { CalibrationTable } from './table.js';

export interface RoleMachine {
  cores: number;
  queueLimit: number;
  /** Whether each datagram also pays the UDP runtime's socket cost (false: a kernel-bypass stack, as the papers' testbeds). */
  udp: boolean;
  /** The machine it shares with other members (unset: one of its own, with `cores` cores). */
  host?: SimHost;
}

/**
 * A simulated member's CostModel from a calibration: a received datagram costs what its message
 * type cost the role's core (classified with the role's codec), plus the UDP runtime's receive
 * cost; a sent one the UDP send cost; a timer what it cost in the calibration (nothing if it never
 * fired there). A type the calibration never saw costs the median of the
 * types it saw (a datagram the codec refuses: `rejected`, if measured).
 */
export function roleCostModel(table: CalibrationTable, role: string, codec: Codec<{ type: string }>, m: RoleMachine): CostModel {
  const costs = table.roles[role];
  if (!costs) throw new Error(`the calibration has no role ${role} (it has ${Object.keys(table.roles).join(', ')})`);
  const messages = Object.entries(costs).filter(([t]) => !t.startsWith('timer:')).map(([, us]) => us);
  const unseen = messages.length ? median(messages) : 0;
  const linear = (c: { baseUs: number; perByteUs: number }, bytes: Uint8Array) => (m.udp ? c.baseUs + c.perByteUs * bytes.length : 0);
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
    receiveUs: (bytes) => (costs[typeOf(bytes)] ?? unseen) + linear(table.udp.receive, bytes),
    sendUs: (bytes) => linear(table.udp.send, bytes),
    timerUs: (name) => costs[`timer:${name}`] ?? 0,
  };
}
