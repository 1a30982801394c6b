/**
 * Quorum counting, written once for every protocol core: the votes of distinct senders for one
 * thing (a slot's NO-OP, a sync point, a view), a threshold that is reported reached exactly
 * once, and a sender that votes twice with different values caught as equivocating (a quorum
 * certificate counts one message per replica, as in PBFT, Castro and Liskov, OSDI'99). Where a
 * sender's latest vote stands instead (`set`), the votes that match a value are counted against
 * the threshold (`reachedBy`): PBFT's prepared and committed certificates, 2f+1 matching SYNCs.
 */

/** What one vote did: counted, ignored as a repeat, completed the quorum, or contradicted an earlier vote of the same sender. */
export type VoteOutcome = 'counted' | 'repeat' | 'reached' | 'equivocation';

/** The votes for one thing, by sender. `same` decides whether a sender's second vote repeats its first. */
export class Votes<V = true> {
  private readonly bySender = new Map<number, V>();

  constructor(readonly threshold: number, private readonly same: (a: V, b: V) => boolean = Object.is) {
    if (!Number.isInteger(threshold) || threshold < 0) throw new Error(`a quorum threshold must be a non-negative integer, not ${threshold}`);
  }

  /**
   * Records `sender`'s vote: its first vote counts ('reached' when it is the one that makes the
   * threshold, so exactly once), a later equal one is a repeat, a later different one is
   * equivocation (neither counted).
   */
  add(sender: number, value: V): VoteOutcome {
    if (this.bySender.has(sender)) return this.same(this.bySender.get(sender) as V, value) ? 'repeat' : 'equivocation';
    this.bySender.set(sender, value);
    return this.bySender.size === this.threshold ? 'reached' : 'counted';
  }

  /**
   * Records `sender`'s vote where its latest vote stands, replacing an earlier one (a PBFT
   * replica's PREPARE for the digest a later PRE-PREPARE named, a CONFIRM or SYNC sent again in a
   * later view). True when it is the sender's first.
   */
  set(sender: number, value: V): boolean {
    const first = !this.bySender.has(sender);
    this.bySender.set(sender, value);
    return first;
  }

  /** Whether at least the threshold of senders have voted. */
  get reached(): boolean {
    return this.bySender.size >= this.threshold;
  }

  /** Whether at least the threshold of senders cast a vote that `matches` (the same digest, the current view). */
  reachedBy(matches: (value: V, sender: number) => boolean): boolean {
    return this.count(matches) >= this.threshold;
  }

  /** How many senders cast a vote that `matches`. */
  count(matches: (value: V, sender: number) => boolean): number {
    let k = 0;
    for (const [sender, value] of this.bySender) if (matches(value, sender)) k++;
    return k;
  }

  get size(): number {
    return this.bySender.size;
  }

  has(sender: number): boolean {
    return this.bySender.has(sender);
  }

  get(sender: number): V | undefined {
    return this.bySender.get(sender);
  }

  senders(): number[] {
    return [...this.bySender.keys()];
  }

  values(): V[] {
    return [...this.bySender.values()];
  }

  /** Forgets `sender`'s vote; true if it had one. */
  delete(sender: number): boolean {
    return this.bySender.delete(sender);
  }

  clear(): void {
    this.bySender.clear();
  }
}

/** Votes for many things at once, by a string key (one `Votes` per key, each with the same threshold). */
export class QuorumTally<V = true> {
  private readonly byKey = new Map<string, Votes<V>>();

  constructor(readonly threshold: number, private readonly same: (a: V, b: V) => boolean = Object.is) {}

  add(key: string, sender: number, value: V): VoteOutcome {
    return this.votes(key).add(sender, value);
  }

  /** Records `sender`'s vote for `key` where its latest vote stands (`Votes.set`); returns the votes for `key`. */
  set(key: string, sender: number, value: V): Votes<V> {
    const votes = this.votes(key);
    votes.set(sender, value);
    return votes;
  }

  private votes(key: string): Votes<V> {
    let votes = this.byKey.get(key);
    if (!votes) this.byKey.set(key, (votes = new Votes(this.threshold, this.same)));
    return votes;
  }

  /** The votes for `key`, if any were cast. */
  get(key: string): Votes<V> | undefined {
    return this.byKey.get(key);
  }

  count(key: string): number {
    return this.byKey.get(key)?.size ?? 0;
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }

  clear(): void {
    this.byKey.clear();
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The keys voted for, each with its votes, in the order first voted for. */
  entries(): IterableIterator<[string, Votes<V>]> {
    return this.byKey.entries();
  }
}

/** Failures tolerated by a crash-fault group of n = 2f + 1 (Viewstamped Replication Revisited; NOPaxos, OSDI'16): f = ⌊(n − 1) / 2⌋. */
export const crashFaults = (n: number): number => Math.floor((n - 1) / 2);
