import { WireError } from '../../runtime/core.js';
import { Reader, Writer } from '../../runtime/wire.js';
import type { StreamApp, StreamSession } from './session.js';

/**
 * A key-value server speaking Redis's inline command protocol: one command per CRLF-terminated
 * line, arguments separated by spaces, replies in RESP (`+OK`, `:n`, `$len` bulk strings, `-ERR`).
 * Commands: PING, GET, SET, INCR, DEL. The keyspace belongs to the connection (a session's
 * database), so it migrates with the connection along with any partial command line.
 */

const MAX_LINE = 1 << 20;
// Latin-1 maps bytes to characters one to one: commands stay binary-safe, and a multi-byte
// character split between two segments can't be mangled.
const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');

class KvSession implements StreamSession {
  constructor(
    readonly data = new Map<string, string>(),
    private partial = '',
  ) {}

  feed(input: Uint8Array): { reply: Uint8Array; requests: number } {
    const lines = (this.partial + text(input)).split('\r\n');
    this.partial = lines.pop()!;
    let out = '';
    if (this.partial.length > MAX_LINE) {
      out += `-ERR command line longer than ${MAX_LINE} bytes\r\n`;
      this.partial = '';
    }
    for (const line of lines) out += this.execute(line);
    return { reply: bytes(out), requests: lines.length };
  }

  private execute(line: string): string {
    const [command = '', ...args] = line.split(' ');
    const arity = (n: number): string | null => (args.length === n ? null : `-ERR wrong number of arguments for '${command.toLowerCase()}' command\r\n`);
    switch (command.toUpperCase()) {
      case 'PING':
        return '+PONG\r\n';
      case 'GET': {
        const bad = arity(1);
        if (bad) return bad;
        const v = this.data.get(args[0]!);
        return v === undefined ? '$-1\r\n' : `$${v.length}\r\n${v}\r\n`;
      }
      case 'SET': {
        const bad = arity(2);
        if (bad) return bad;
        this.data.set(args[0]!, args[1]!);
        return '+OK\r\n';
      }
      case 'INCR': {
        const bad = arity(1);
        if (bad) return bad;
        const current = this.data.get(args[0]!) ?? '0';
        if (!/^-?\d+$/.test(current)) return '-ERR value is not an integer or out of range\r\n';
        const next = BigInt(current) + 1n;
        this.data.set(args[0]!, next.toString());
        return `:${next}\r\n`;
      }
      case 'DEL': {
        const bad = arity(1);
        if (bad) return bad;
        return `:${this.data.delete(args[0]!) ? 1 : 0}\r\n`;
      }
      default:
        return `-ERR unknown command '${command}'\r\n`;
    }
  }

  exportState(): Uint8Array {
    const entries = [...this.data].map(([k, v]) => [bytes(k), bytes(v)] as const);
    const partial = bytes(this.partial);
    const w = new Writer(4 + entries.reduce((n, [k, v]) => n + 8 + k.length + v.length, 0) + 4 + partial.length);
    w.u32(entries.length);
    for (const [k, v] of entries) w.u32(k.length).raw(k).u32(v.length).raw(v);
    w.u32(partial.length).raw(partial);
    return w.done();
  }
}

export const kvApp: StreamApp = {
  name: 'kv',
  open: () => new KvSession(),
  restore(state) {
    const r = new Reader(state);
    const count = r.u32('key count');
    if (count * 8 > r.remaining) throw new WireError('bad-app-state', `the session claims ${count} keys in ${r.remaining} bytes`);
    const data = new Map<string, string>();
    for (let i = 0; i < count; i++) {
      const k = text(r.bytesOf(r.u32('key length'), 'key'));
      data.set(k, text(r.bytesOf(r.u32('value length'), 'value')));
    }
    const partial = text(r.bytesOf(r.u32('partial length'), 'partial command'));
    r.end('the session state');
    return new KvSession(data, partial);
  },
};
