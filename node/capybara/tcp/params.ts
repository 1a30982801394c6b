import type { RtoBounds } from './rto.js';

/**
 * Tunables of the userspace TCP. Defaults suit an emulated datacenter fabric on loopback:
 * an Ethernet MSS, a 256 KiB receive buffer announced with window scaling, and retransmission
 * bounds in milliseconds rather than RFC 6298's Internet-scale seconds (its 1 s floor would turn
 * every lost segment into a second-long stall in a testbed whose round trip is ~100 µs).
 */
export interface TcpParams {
  /** The MSS we announce and never exceed (1500 − 20 − 20). */
  mss: number;
  receiveBufferSize: number;
  /** The window-scale shift we announce (RFC 7323). */
  windowShift: number;
  rto: RtoBounds;
  /** How long a connection lingers in TIME-WAIT (2·MSL of the emulated fabric). */
  timeWaitUs: number;
  /** Consecutive expiries of the retransmission timer after which the connection is reset. */
  maxRetransmits: number;
}

export const defaultTcpParams: TcpParams = {
  mss: 1460,
  receiveBufferSize: 256 * 1024,
  windowShift: 3,
  rto: { initialUs: 20_000, minUs: 2_000, maxUs: 1_000_000 },
  timeWaitUs: 60_000,
  maxRetransmits: 15,
};

/** The MSS assumed when a SYN carries no MSS option (RFC 9293 §3.7.1). */
export const DEFAULT_PEER_MSS = 536;

/** RFC 6928's initial window. */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14_600));
}
