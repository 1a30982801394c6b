import type { TcpConnection } from './connection.js';

/** Unanswered keep-alive intervals after which a connection's peer is taken for gone. */
export const KEEPALIVE_PROBES = 5;

/**
 * TCP keep-alive over a host's connections (RFC 1122 §4.2.3.6), run every `everyUs`: an
 * established connection whose peer has been silent for an interval is probed; a peer that restarted answers
 * with a reset, which closes the connection; one silent for KEEPALIVE_PROBES more intervals is
 * aborted and handed to `dead` (which counts it).
 */
export function keepAlive(now: number, everyUs: number, conns: Iterable<TcpConnection>, dead: (conn: TcpConnection, silentUs: number) => void): void {
  for (const conn of [...conns]) {
    const heard = conn.lastHeardAt;
    // Only a synchronized connection with nothing to time out on its own: handshakes, closes and
    // TIME-WAIT have their own timers.
    if (heard === null || now - heard < everyUs || (conn.state !== 'ESTABLISHED' && conn.state !== 'CLOSE_WAIT')) continue;
    if (now - heard < everyUs * (KEEPALIVE_PROBES + 1)) {
      conn.keepalive();
      continue;
    }
    conn.abort();
    dead(conn, now - heard);
  }
}
