import type { NodeId } from '../runtime/core.js';
import { invariant } from '../protocol/invariant.js';

/** A link direction's propagation latency and bandwidth. */
export interface LinkSpec {
  /** One-way latency in µs; unset: the network's `delayUs`. */
  latencyUs?: number;
  /** Bits per second; a datagram occupies the link for bytes × 8 / bps. */
  bps: number;
}

/**
 * The links' bandwidth: each direction serializes its datagrams one after another (a NIC's
 * transmit queue), so a large datagram, or a burst, waits for the wire. Links without a spec
 * (and the default, unless set) have unbounded bandwidth.
 */
export class SimLinks {
  private readonly specs = new Map<string, LinkSpec>();
  private readonly freeAt = new Map<string, number>();
  private fallback: LinkSpec | null = null;

  set(from: NodeId, to: NodeId, spec: LinkSpec): void {
    this.specs.set(`${from}>${to}`, checked(spec));
  }

  /** The spec of every direction without its own; null: unbounded bandwidth at the network's delay. */
  setDefault(spec: LinkSpec | null): void {
    this.fallback = spec && checked(spec);
  }

  spec(from: NodeId, to: NodeId): LinkSpec | null {
    return this.specs.get(`${from}>${to}`) ?? this.fallback;
  }

  /** When a datagram of `size` bytes put on the link at `now` has left it (its last bit sent). */
  serialize(from: NodeId, to: NodeId, size: number, now: number): number {
    const spec = this.spec(from, to);
    if (!spec) return now;
    const key = `${from}>${to}`;
    const start = Math.max(now, this.freeAt.get(key) ?? 0);
    const done = start + (size * 8 * 1e6) / spec.bps;
    invariant(done >= now, 'sim-link-time', () => `link ${key} done at ${done} before ${now}`);
    this.freeAt.set(key, done);
    return done;
  }
}

function checked(spec: LinkSpec): LinkSpec {
  invariant(spec.bps > 0 && (spec.latencyUs ?? 0) >= 0, 'sim-link-spec', () => `link at ${spec.bps} bps, ${spec.latencyUs} µs`);
  return spec;
}
