/**
 * A FIFO of byte chunks that reads across chunk boundaries without copying the whole queue:
 * the send buffer (bytes written and not yet acknowledged) and the receive queue (bytes
 * received in order and not yet read).
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Bytes of chunks[0] already consumed. */
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  /** Copies `length` bytes starting `offset` bytes into the queue (clipped to what is there). */
  peek(offset: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const out = new Uint8Array(n);
    let skip = offset + this.head;
    let filled = 0;
    for (const chunk of this.chunks) {
      if (filled === n) break;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const take = Math.min(chunk.length - skip, n - filled);
      out.set(chunk.subarray(skip, skip + take), filled);
      filled += take;
      skip = 0;
    }
    return out;
  }

  /** Drops `n` bytes from the front. */
  discard(n: number): void {
    let left = Math.min(n, this.size);
    this.size -= left;
    while (left > 0) {
      const first = this.chunks[0]!;
      const available = first.length - this.head;
      if (left < available) {
        this.head += left;
        return;
      }
      left -= available;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Removes and returns everything. */
  take(): Uint8Array {
    const all = this.peek(0, this.size);
    this.chunks = [];
    this.head = 0;
    this.size = 0;
    return all;
  }
}
