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
 * resolved off the hot path and refreshed so that a restarted pod's new address is picked up.
 */
export type Addressing =
  | { kind: 'loopback'; host: string; basePort: number }
  | { kind: 'dns'; prefix: string; domain: string; port: number };

export interface AddressBook {
  /** The member's endpoint, or undefined while its name has not resolved yet. */
  resolve(id: NodeId): Endpoint | undefined;
  close(): void;
}

/** A member's pod name suffix: StatefulSet pods carry an ordinal, so a singleton `config` is pod `config-0`. */
export const podName = (member: string) => (/-\d+$/.test(member) ? member : `${member}-0`);

export function addressBook(addressing: Addressing, nameOf: (id: NodeId) => string): AddressBook {
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
      close() {},
    };
  }
  return new DnsAddressBook(addressing.domain, addressing.port, (id) => `${addressing.prefix}-${podName(nameOf(id))}`);
}

class DnsAddressBook implements AddressBook {
  private readonly resolved = new Map<NodeId, Endpoint>();
  private readonly pending = new Set<NodeId>();
  private readonly refresh: NodeJS.Timeout;

  constructor(
    private readonly domain: string,
    private readonly port: number,
    private readonly nameOf: (id: NodeId) => string,
  ) {
    this.refresh = setInterval(() => {
      for (const id of this.resolved.keys()) this.lookup(id);
    }, 5000);
    this.refresh.unref();
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
    lookup(name)
      .then(({ address }) => this.resolved.set(id, { host: address, port: this.port }))
      .catch(() => {
        // Not resolvable yet (the pod may not exist yet); the next send asks again.
      })
      .finally(() => this.pending.delete(id));
  }
}
