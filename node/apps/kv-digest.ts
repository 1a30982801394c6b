import { sha256 } from '../crypto/hash.js';

const BUCKETS = 256;
const enc = new TextEncoder();

/** FNV-1a over the key's UTF-16 code units: spreads keys over buckets (not a security boundary). */
function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % BUCKETS;
}

/**
 * The digest of a key-value state, kept up to date as keys change: SHA-256 over the digests of
 * 256 buckets of keys (each the SHA-256 of its entries sorted by key, as JSON) and of the
 * exactly-once table. It is a function of the contents alone, so replicas holding the same state
 * agree on it whatever their history; a checkpoint rehashes only the buckets written since the
 * last one (replicas took a whole sorted snapshot of the store at every checkpoint before: a
 * fifth of a NeoBFT replica's CPU).
 */
export class KvDigest {
  private readonly keys: Set<string>[] = Array.from({ length: BUCKETS }, () => new Set());
  private readonly digests: (Uint8Array | null)[] = new Array(BUCKETS).fill(null);

  /** A copy for a copy of the same data (its cached bucket digests stay good). */
  clone(): KvDigest {
    const copy = new KvDigest();
    for (let b = 0; b < BUCKETS; b++) {
      copy.keys[b] = new Set(this.keys[b]);
      copy.digests[b] = this.digests[b]!;
    }
    return copy;
  }

  /** `key` was written or deleted in `data` (call after the change). */
  touch(key: string, data: Map<string, string>): void {
    const b = bucketOf(key);
    if (data.has(key)) this.keys[b]!.add(key);
    else this.keys[b]!.delete(key);
    this.digests[b] = null;
  }

  digest(data: Map<string, string>, last: unknown): Uint8Array {
    const parts = new Uint8Array(32 * (BUCKETS + 1));
    for (let b = 0; b < BUCKETS; b++) {
      let d = this.digests[b];
      if (!d) {
        const entries = [...this.keys[b]!].sort().map((k) => [k, data.get(k)!]);
        d = this.digests[b] = sha256(enc.encode(JSON.stringify(entries)));
      }
      parts.set(d, 32 * b);
    }
    parts.set(sha256(enc.encode(JSON.stringify(last))), 32 * BUCKETS);
    return sha256(parts);
  }
}
