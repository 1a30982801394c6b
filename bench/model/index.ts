import type { BenchOptions, BenchResult } from '../support/types.js';
import { calibrate } from './table.js';

const us = (x: number) => x.toFixed(2);

/**
 * `switchyard bench model`: the cost model's calibration on this machine — every role's µs per
 * message type (its real core replaying inputs recorded in a simulated run) and the UDP
 * runtime's per-datagram send and receive cost. `--rounds` sets the repetitions (5 unless given).
 */
export async function benchModel(opts: BenchOptions, log: (line: string) => void): Promise<BenchResult> {
  log('recording inputs in simulated testbeds and timing each role\'s core on them; then UDP bursts on loopback');
  const table = await calibrate({ reps: opts.rounds ?? 5 });
  const rows = Object.entries(table.roles).flatMap(([role, types]) =>
    Object.entries(types).map(([type, cost]) => [role, type, us(cost), String(table.samples[role]?.[type] ?? 0)]));
  const { send, receive } = table.udp;
  return {
    name: 'model',
    json: { calibration: table },
    tables: [
      [`Per-message CPU cost by role (median of ${table.reps} repetitions; decode, authentication, handler, encoding outputs)`, ['role', 'message type', 'µs', 'inputs per repetition'], rows],
      ['UDP runtime per datagram (loopback bursts; µs = base + per byte × size)', ['direction', 'base µs', 'per byte µs'],
        [['send', us(send.baseUs), send.perByteUs.toFixed(5)], ['receive', us(receive.baseUs), receive.perByteUs.toFixed(5)]]],
      ['UDP runtime per echo with a wake-up (ping-pong with another process, 200 bytes; CPU µs to take a datagram in and send one out)', ['µs'],
        [[us(table.udp.woken.echoUs)]]],
    ],
  };
}
