import type { BenchOptions, BenchResult } from '../support/types.js';
import { calibrate } from './table.js';
import { validateModel } from './validate.js';

const us = (x: number) => x.toFixed(2);
const pct = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)} %`);
const msOf = (s: number | null) => (s === null ? '—' : (s * 1e3).toFixed(2));

/**
 * `switchyard bench model`: the cost model's calibration on this machine — every role's µs per
 * message type (its real core replaying inputs recorded in a simulated run) and the UDP
 * runtime's per-datagram send and receive cost. `--rounds` sets the repetitions (5 unless given).
 * `--validate` then runs bench bft's and bench hydra-apps' key-value configurations on loopback (`--seconds` each) and
 * sets the model's predictions beside them (validate.ts).
 */
export async function benchModel(opts: BenchOptions, log: (line: string) => void): Promise<BenchResult> {
  log('recording inputs in simulated testbeds and timing each role\'s core on them; then UDP bursts on loopback');
  const table = await calibrate({ reps: opts.rounds ?? 5 });
  const rows = Object.entries(table.roles).flatMap(([role, types]) =>
    Object.entries(types).map(([type, cost]) => [role, type, us(cost), String(table.samples[role]?.[type] ?? 0)]));
  const { send, receive } = table.udp;
  const v = opts.validate ? await validateModel(table, opts.seconds ?? 6, log) : null;
  const validation: [string, string[], string[][]][] = v ? [[
    `Model against loopback (${v.cores} core(s), 8 clients; members' cost per wake-up from an unreplicated run just before each)`,
    ['configuration', 'measured ops/s', 'predicted ops/s', 'throughput error', 'measured p50 ms', 'predicted p50 ms', 'p50 error', 'p99 error', 'cores used', 'predicted ops/s on whole cores',
      'datagrams/op measured, modelled', 'µs per wake-up (replicas, clients)', 'runtime measured here'],
    v.entries.map((e) => [e.name, e.measured.ops_per_s.toFixed(0), e.predicted.ops_per_s.toFixed(0), pct(e.throughput_error), msOf(e.measured.p50_s), msOf(e.predicted.p50_s),
      pct(e.p50_error), pct(e.p99_error), e.cpu_cores_used.toFixed(2), e.predicted.ops_per_s_whole_cores.toFixed(0),
      `${e.measured.datagrams_per_op?.toFixed(1) ?? '—'}, ${e.predicted.datagrams_per_op?.toFixed(1) ?? '—'}`,
      `${e.runtime_us_per_wakeup.replicas?.toFixed(1)}, ${e.runtime_us_per_wakeup.clients?.toFixed(1)}`, String(e.runtime_measured_here)]),
  ], ['CPU per op by side, measured (process counters) and modelled (µs)', ['configuration', 'side', 'measured', 'modelled'],
    v.entries.flatMap((e) => Object.entries(e.measured.cpu_us_per_op).map(([side, m]) => [e.name, side, m!.toFixed(0), e.predicted.cpu_us_per_op[side as keyof typeof e.predicted.cpu_us_per_op]?.toFixed(0) ?? '—']))]] : [];
  return {
    name: 'model',
    json: { calibration: table, ...(v ? { model_validation: v.entries, validation: { cores: v.cores, not_covered: v.not_covered } } : {}) },
    tables: [
      ...validation,
      [`Per-message CPU cost by role (median of ${table.reps} repetitions; decode, authentication, handler, encoding outputs)`, ['role', 'message type', 'µs', 'inputs per repetition'], rows],
      ['UDP runtime per datagram (loopback bursts; µs = base + per byte × size)', ['direction', 'base µs', 'per byte µs'],
        [['send', us(send.baseUs), send.perByteUs.toFixed(5)], ['receive', us(receive.baseUs), receive.perByteUs.toFixed(5)]]],
      ['UDP runtime per echo with a wake-up (ping-pong with another process, 200 bytes; CPU µs to take a datagram in and send one out)', ['µs'],
        [[us(table.udp.woken.echoUs)]]],
    ],
  };
}
