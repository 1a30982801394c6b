import type { SimNetwork } from '../../node/net/sim.js';
import type { Codec, NodeId } from '../../node/runtime/core.js';
import { roleCostModel } from './role-cost.js';
import type { CalibrationTable } from './table.js';

/**
 * The papers' testbeds as the simulator models them: a machine per member, switch roles
 * (AOM and Hydra sequencers) in hardware at line rate, links of one rack.
 */
export const PAPER_SETTING = {
  /**
   * Cores per member: 1. Every member is a one-thread Node process; the model's extra cores
   * would parallelise the whole receive cost, which this implementation does not do.
   */
  cores: 1,
  /** Received datagrams held: about a default Linux socket buffer (212 992 bytes) of 200-byte datagrams. */
  queueLimit: 1000,
  /** Node's UDP runtime cost per datagram in a burst (the members are busy): this implementation's cost, not a DPDK stack's. */
  udp: 'burst' as const,
  /**
   * Assumed, not sourced: seed-systems.md gives no link figures. One rack through one
   * programmable switch (Tofino, as in the NeoBFT and Hydra testbeds): 10 µs one way
   * (NIC, host stack, switch), 100 Gb/s.
   */
  link: { latencyUs: 10, bps: 100e9 },
  /**
   * Protocol timeouts far above the latencies, as in a deployment (the simulations' short
   * defaults make overloaded clients retry and replicas change views): a client resends after
   * 100 ms, as NeoBFT's artifact does (seed-systems.md [NEO-ART]); view changes after 1 s (assumed).
   */
  timeouts: { clientRetryUs: 100_000, viewChangeUs: 1_000_000 },
};

export const paperSettingText = `a machine of ${PAPER_SETTING.cores} core per member (a one-thread Node process), `
  + `the calibrated per-message costs plus Node's UDP cost per datagram (burst), sequencers in hardware at line rate (no CPU cost), `
  + `links ${PAPER_SETTING.link.latencyUs} µs one way at ${PAPER_SETTING.link.bps / 1e9} Gb/s (assumed: one rack, one switch), `
  + `clients resend after ${PAPER_SETTING.timeouts.clientRetryUs / 1e3} ms, view changes after ${PAPER_SETTING.timeouts.viewChangeUs / 1e6} s`;

/** A simulated member and the calibrated role whose costs it pays; members not listed are free (hardware). */
export interface CostedMember {
  id: NodeId;
  role: string;
}

/** Puts a simulated testbed in the paper setting: the links, and each listed member's calibrated machine. */
export function applyPaperSetting(net: SimNetwork, table: CalibrationTable, codec: Codec<{ type: string }>, members: CostedMember[]): void {
  net.setDefaultLink(PAPER_SETTING.link);
  for (const m of members) {
    net.setCostModel(m.id, roleCostModel(table, m.role, codec, { cores: PAPER_SETTING.cores, queueLimit: PAPER_SETTING.queueLimit, udp: PAPER_SETTING.udp }));
  }
}
