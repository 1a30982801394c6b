import { concat } from '../crypto/bytes.js';
import { WireError } from '../runtime/core.js';

/**
 * Reassembly of a message too large for one datagram, written once: HydraPaxos's bulk messages
 * (view changes, states) are sent as numbered chunks, Capybara's CONN_STATE as fragments whose
 * last one is flagged (Capybara's TCPMig header). A fragment outside the bounds is refused with
 * a WireError, which the caller counts by its reason.
 */

/** The fragments of one message, by index; whole once every index up to the last one is in. */
export class Fragments {
  private readonly parts: (Uint8Array | undefined)[] = [];
  private have = 0;
  private last: number | null = null;

  constructor(private readonly maxFragments: number) {}

  /**
   * Adds fragment `index` (a copy of `bytes`); `last` marks the final one. Returns the whole
   * message once complete, else null. A repeated fragment is ignored.
   */
  add(index: number, bytes: Uint8Array, last: boolean): Uint8Array | null {
    if (!Number.isInteger(index) || index < 0 || index >= this.maxFragments) {
      throw new WireError('out-of-range', `fragment ${index} is outside 0..${this.maxFragments - 1}`);
    }
    if (this.last !== null && (index > this.last || (last && index !== this.last))) {
      throw new WireError('bad-field', `fragment ${index}${last ? ' (marked last)' : ''} of a message whose last fragment is ${this.last}`);
    }
    if (last) this.last = index;
    if (!this.parts[index]) {
      this.parts[index] = bytes.slice();
      this.have++;
    }
    if (this.last === null || this.have < this.last + 1) return null;
    return concat(this.parts.slice(0, this.last + 1) as Uint8Array[]);
  }
}

/** Messages being reassembled, by id (e.g. sender and nonce); at most `maxMessages` at once, the oldest given up first. */
export class Reassembly {
  private readonly partial = new Map<string, { total: number; fragments: Fragments }>();

  constructor(private readonly maxMessages: number, private readonly maxFragments: number) {}

  /** Adds chunk `index` of `total` of message `id`; returns the whole message once complete, else null. */
  add(id: string, index: number, total: number, bytes: Uint8Array): Uint8Array | null {
    if (!Number.isInteger(total) || total < 1 || total > this.maxFragments) {
      throw new WireError('out-of-range', `a message of ${total} chunks (at most ${this.maxFragments})`);
    }
    let p = this.partial.get(id);
    if (!p || p.total !== total) {
      if (this.partial.size >= this.maxMessages) this.partial.delete(this.partial.keys().next().value!);
      p = { total, fragments: new Fragments(total) };
      this.partial.set(id, p);
    }
    const whole = p.fragments.add(index, bytes, index === total - 1);
    if (whole) this.partial.delete(id);
    return whole;
  }
}
