import { cpus } from 'node:os';
import { type RoleCosts, calibrateRoles } from './calibrate.js';
import type { RoleName } from './roles.js';
import { type UdpCost, measureUdp } from './udp-cost.js';

/** What the cost model is given: measured on this machine, JSON-able. */
export interface CalibrationTable {
  machine: { cpus: number; cpuModel: string; node: string };
  seed: number;
  reps: number;
  /** Role → message type → µs of CPU to take the message in (decode, authenticate, handle, encode outputs); `timer:NAME` for timers. */
  roles: RoleCosts;
  /** Inputs timed per repetition, by role and type (how much each median rests on). */
  samples: Record<string, Record<string, number>>;
  /** The UDP runtime's own per-datagram cost, beside the core's. */
  udp: UdpCost;
}

export interface CalibrateOptions {
  roles?: RoleName[];
  seed?: number;
  reps?: number;
  /** Datagrams per UDP burst. */
  udpBurst?: number;
}

/** Measures every role's per-message costs and the UDP runtime's per-datagram costs on this machine. */
export async function calibrate(o: CalibrateOptions = {}): Promise<CalibrationTable> {
  const seed = o.seed ?? 1;
  const reps = o.reps ?? 5;
  const { costs, samples } = calibrateRoles({ roles: o.roles, seed, reps });
  const udp = await measureUdp({ reps, count: o.udpBurst ?? 200 });
  const cpu = cpus();
  return { machine: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', node: process.version }, seed, reps, roles: costs, samples, udp };
}
