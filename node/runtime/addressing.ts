import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { NodeId } from './core.js';

export interface Endpoint {
  host: string;
  port: number;
}

/**
 * Where a member listens. Locally every member is on loopback at `basePort + id`; in a cluster
 * it is a pod of a headless Service, `<prefix>-<member name>.<domain>`, on a fixed port, and names are
 * resolved off the hot path and refreshed so that a restarted pod's new address is picked up:
 * every 5 s, and at once when a datagram comes from an address no name resolved to (a replaced
 * pod talks before its peers' next refresh; until they learn its address it hears nothing).
 */
export type Addressing =
  | { kind: 'loopback'; host: string; basePort: number }
  | { kind: 'dns'; prefix: string; domain: string; port: number };

export interface AddressBook {
  /** The member's endpoint, or undefined while its name has not resolved yet. */
  resolve(id: NodeId): Endpoint | undefined;
  /** A datagram came from `host`. */
  heardFrom(host: string): void;
  close(): void;
}

/** How a DNS address book looks names up and reads the time (a test passes its own). */
export interface DnsLookup {
  lookup(name: string): Promise<{ address: string }>;
  now(): number;
}

const systemLookup: DnsLookup = { lookup: (name) => lookup(name), now: () => Date.now() };

/** A member's pod name suffix: StatefulSet pods carry an ordinal, so a singleton `config` is pod `config-0`. */
export const podName = (member: string) => (/-\d+$/.test(member) ? member : `${member}-0`);

export function addressBook(addressing: Addressing, nameOf: (id: NodeId) => string, dns: DnsLookup = systemLookup): AddressBook {
  if (addressing.kind === 'loopback') {
    const cache = new Map<NodeId, Endpoint>();
    return {
      resolve(id) {
        let ep = cache.get(id);
        if (!ep) {
          ep = { host: addressing.host, port: addressing.basePort + id };
          cache.set(id, ep);
        }
        return ep;
      },
      heardFrom() {},
      close() {},
    };
  }
  return new DnsAddressBook(addressing.domain, addressing.port, (id) => `${addressing.prefix}-${podName(nameOf(id))}`, dns);
}

/** At most one eager lookup round per this many ms, however many datagrams come from unknown addresses. */
const EAGER_REFRESH_MS = 1000;
/**
 * Eager rounds one unknown address may cause: enough to outlast the cluster DNS's TTL (5 s in
 * scripts/real-cluster's Corefile); a peer this member never sends to, whose name it never
 * looked up, stays unknown and stops causing rounds.
 */
const EAGER_ROUNDS_PER_ADDRESS = 8;

class DnsAddressBook implements AddressBook {
  private readonly resolved = new Map<NodeId, Endpoint>();
  /** The addresses the names resolve to now: a datagram from any other is a replaced pod's. */
  private readonly known = new Set<string>();
  private readonly pending = new Set<NodeId>();
  private readonly refresh: NodeJS.Timeout;
  private eagerAt = -Infinity;
  /** Eager rounds caused so far, by unknown address. */
  private readonly eagerRounds = new Map<string, number>();

  constructor(
    private readonly domain: string,
    private readonly port: number,
    private readonly nameOf: (id: NodeId) => string,
    private readonly dns: DnsLookup,
  ) {
    this.refresh = setInterval(() => this.lookupAll(), 5000);
    this.refresh.unref();
  }

  heardFrom(host: string): void {
    if (this.known.has(host)) return;
    const rounds = this.eagerRounds.get(host) ?? 0;
    const now = this.dns.now();
    if (rounds >= EAGER_ROUNDS_PER_ADDRESS || now - this.eagerAt < EAGER_REFRESH_MS) return;
    // The cluster DNS may still answer with the old address for its TTL: while the new one keeps
    // talking, this repeats (at most once per EAGER_REFRESH_MS) until its name resolves to it.
    if (this.eagerRounds.size >= 4096) this.eagerRounds.clear();
    this.eagerRounds.set(host, rounds + 1);
    this.eagerAt = now;
    this.lookupAll();
  }

  private lookupAll(): void {
    for (const id of this.resolved.keys()) this.lookup(id);
  }

  resolve(id: NodeId): Endpoint | undefined {
    const ep = this.resolved.get(id);
    if (!ep) this.lookup(id);
    return ep;
  }

  close(): void {
    clearInterval(this.refresh);
  }

  private lookup(id: NodeId): void {
    if (this.pending.has(id)) return;
    const name = `${this.nameOf(id)}.${this.domain}`;
    if (isIP(name)) {
      this.resolved.set(id, { host: name, port: this.port });
      return;
    }
    this.pending.add(id);
    this.dns.lookup(name)
      .then(({ address }) => {
        if (this.resolved.get(id)?.host === address) return;
        this.resolved.set(id, { host: address, port: this.port });
        this.known.clear();
        for (const ep of this.resolved.values()) this.known.add(ep.host);
      })
      .catch(() => {
        // Not resolvable yet (the pod may not exist yet); the next send asks again.
      })
      .finally(() => this.pending.delete(id));
  }
}
