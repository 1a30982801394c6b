import dgram from 'node:dgram';
import type { NodeId } from './core.js';
import type { AddressBook } from './addressing.js';
import type { Transport } from './transport.js';

export interface UdpTransportOptions {
  bindHost: string;
  port: number;
  book: AddressBook;
  /** Whether an id is a member's: a datagram for any other id (one a core took from a packet) is dropped. */
  isMember: (id: NodeId) => boolean;
  /** Called for a datagram not sent: addressed to no member, or to a member whose address is not known yet. */
  onDropped?: (reason: 'unknown-destination' | 'unresolved', to: NodeId) => void;
  /** Called when the kernel refuses a send (e.g. buffer full); the datagram is lost, as on a wire. */
  onSendError?: (err: Error) => void;
}

/** The Transport over real UDP sockets (node:dgram). */
export class UdpTransport implements Transport {
  private readonly socket: dgram.Socket;
  private handler: ((bytes: Uint8Array) => void) | null = null;
  private closed = false;

  private constructor(private readonly opts: UdpTransportOptions, socket: dgram.Socket) {
    this.socket = socket;
    socket.on('message', (msg, from) => {
      opts.book.heardFrom(from.address);
      if (this.handler) this.handler(new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
    });
    socket.on('error', (err) => opts.onSendError?.(err));
  }

  /** Binds the socket; rejects with the OS error (e.g. EADDRINUSE) if the port is taken. */
  static async open(opts: UdpTransportOptions): Promise<UdpTransport> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.bindHost, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // Bigger socket buffers absorb bursts of a multicast fan-out; the kernel may cap them.
    for (const set of [() => socket.setRecvBufferSize(8 << 20), () => socket.setSendBufferSize(8 << 20)]) {
      try {
        set();
      } catch {
        // Capped by net.core.rmem_max / wmem_max: the default is still correct, only smaller.
      }
    }
    return new UdpTransport(opts, socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(to: NodeId, bytes: Uint8Array): void {
    if (this.closed) return;
    if (!this.opts.isMember(to)) {
      this.opts.onDropped?.('unknown-destination', to);
      return;
    }
    const ep = this.opts.book.resolve(to);
    if (!ep) {
      this.opts.onDropped?.('unresolved', to);
      return;
    }
    // No per-datagram callback on the hot path: send errors arrive as the socket's 'error' event.
    this.socket.send(bytes, ep.port, ep.host);
  }

  onReceive(handler: (bytes: Uint8Array) => void): void {
    this.handler = handler;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.book.close();
    this.socket.close();
  }
}
