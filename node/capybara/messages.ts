import type { TcpPacket } from './tcp/packet.js';

/**
 * What Capybara's members exchange, each in one UDP datagram:
 * - `tcp`: an emulated TCP/IPv4 packet; `raw` keeps its encoded bytes so the switch can rewrite
 *   addresses in place and forward without re-encoding.
 * - `mig`: a TCPMig message (reference §4.2) — the migration protocol's stages, with a CONN_STATE
 *   payload fragmented to the path MTU.
 * - `rps`: the switch's request-rate signal to a server (§4.5): requests counted for all servers
 *   and for this one during the last interval.
 */

export const MIG_MAGIC = 0xcafedead;
export const RPS_MAGIC = 0xabcdabcd;

export const STAGE = {
  rejected: 1,
  prepare: 2,
  prepareAck: 3,
  connState: 4,
  connStateAck: 5,
} as const;
export type Stage = (typeof STAGE)[keyof typeof STAGE];

export const FLAG_LOAD = 0x01;
export const FLAG_NEXT_FRAGMENT = 0x02;

export interface MigHeader {
  /** The origin server's address and service port. */
  originIp: number;
  originPort: number;
  /** The migrating connection's client end. */
  clientIp: number;
  clientPort: number;
  fragment: number;
  /** LOAD (the switch loads the directory entry) and NEXT_FRAGMENT bits. */
  flags: number;
  stage: Stage;
  /**
   * Switchyard's additions (in Capybara the IP header and the rewritten destination carry them):
   * the target server the switch chose, and the origin's migration number, which tells a late
   * message of an abandoned attempt from the current one.
   */
  targetIp: number;
  migration: number;
}

export type CapybaraMsg =
  | { kind: 'tcp'; packet: TcpPacket; raw?: Uint8Array }
  | { kind: 'mig'; header: MigHeader; payload: Uint8Array }
  | { kind: 'rps'; sum: number; individual: number };
