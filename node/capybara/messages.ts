import type { TcpPacket } from './tcp/packet.js';

/**
 * What Capybara's members exchange, each in one UDP datagram:
 * - `tcp`: an emulated TCP/IPv4 packet; `raw` keeps its encoded bytes so the switch can rewrite
 *   addresses in place and forward without re-encoding.
 * - `mig`: a TCPMig message (docs/capybara.md#messages) — the migration protocol's stages, with a CONN_STATE
 *   payload fragmented to the path MTU.
 * - `rps`: the switch's request-rate signal to a server (docs/capybara.md#load-signals): requests counted for all servers
 *   and for this one during the last interval, and the switch's incarnation (Switchyard's
 *   addition: a restarted switch draws a new one, which tells the servers its directory is empty).
 * - `whoHas` / `own`: Switchyard's directory recovery. The directory is soft state; the servers
 *   know which connections they hold. A switch that meets a non-SYN segment of a client it has no
 *   entry for asks every server `whoHas`; the server holding that client's connection answers
 *   `own`, and every server announces all its connections in `own` messages when it sees a new
 *   switch incarnation.
 */

export const MIG_MAGIC = 0xcafedead;
export const RPS_MAGIC = 0xabcdabcd;
export const WHO_HAS_MAGIC = 0xabcd0001;
export const OWN_MAGIC = 0xabcd0002;
/** Client ends in one `own` datagram (6 bytes each; the datagram stays under 1500 bytes). */
export const MAX_OWNED_PER_MESSAGE = 200;

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
/** Switchyard's: on a REJECTED from target to origin, "this migration is unknown here" (the target restarted). */
export const FLAG_UNKNOWN = 0x04;

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
  | { kind: 'rps'; sum: number; individual: number; incarnation: number }
  | { kind: 'whoHas'; clientIp: number; clientPort: number }
  /** `server` holds connections from these client ends (endpointKey: ip · 2^16 + port). */
  | { kind: 'own'; serverIp: number; clients: number[] };
