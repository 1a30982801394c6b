import { Reader, Writer } from '../runtime/wire.js';
import type { Waiting } from './service-queue.js';

/**
 * The body of a CONN_STATE (docs/capybara.md#state-migrated): u32 length + the TCP state, u32
 * length + the application session, u8 whether the client had finished, u32 count of requests
 * waiting for service, each as u32 requests and u32 length + reply bytes.
 */
export interface ConnState {
  tcp: Uint8Array;
  app: Uint8Array;
  /** The client had finished: close once the waiting replies are out. */
  closing: boolean;
  /** Requests the origin had not served yet, with their replies, in order. */
  waiting: Waiting[];
}

export function encodeConnState(s: ConnState): Uint8Array {
  const w = new Writer(13 + s.tcp.length + s.app.length + s.waiting.reduce((n, q) => n + 8 + q.reply.length, 0));
  w.u32(s.tcp.length).raw(s.tcp).u32(s.app.length).raw(s.app).u8(s.closing ? 1 : 0).u32(s.waiting.length);
  for (const q of s.waiting) w.u32(q.requests).u32(q.reply.length).raw(q.reply);
  return w.done();
}

/** Throws WireError on a malformed body. */
export function decodeConnState(bytes: Uint8Array): ConnState {
  const r = new Reader(bytes);
  const tcp = r.bytesOf(r.u32('tcp state length'), 'tcp state');
  const app = r.bytesOf(r.u32('app state length'), 'app state');
  const closing = r.u8('closing') === 1;
  const waiting: Waiting[] = [];
  // Read as they come: a count no datagram could hold ends in a truncation, not an allocation.
  for (let n = r.u32('waiting requests'); n > 0; n--) waiting.push({ requests: r.u32('requests'), reply: r.bytesOf(r.u32('reply length'), 'reply') });
  r.end('CONN_STATE');
  return { tcp, app, closing, waiting };
}
