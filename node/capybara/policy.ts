/**
 * When a server sheds connections, and which (docs/capybara.md#load-signals-and-the-policy, generalised to N servers).
 * The SIGCOMM'26 artifact's 2-server knobs are MIG_THRESHOLD_PCT=60 (a server carrying over 60 %
 * of the cluster's requests sheds), a per-connection rate cap and a 10 ms cooldown; its exact
 * formula was not published. Switchyard's reading, documented here: with N servers the fair
 * share is sum/N and a server sheds when its rate exceeds `overload` × fair share (60 % of 2
 * servers is 1.2 × fair share); it moves the busiest connections that are at or under the cap
 * (moving an elephant only moves the hotspot) and that keep it at or above the fair share, until
 * its rate is back under the threshold, at most `maxPerDecision` per signal, then waits out the cooldown.
 */
export interface MigrationPolicy {
  overload: number;
  /** No shedding while the whole cluster serves fewer requests per second than this. */
  minTotalRps: number;
  connRateCapRps: number;
  cooldownUs: number;
  /** Capybara's MAX_EXTRACTED_CONNECTIONS. */
  maxPerDecision: number;
}

export const defaultMigrationPolicy: MigrationPolicy = {
  overload: 1.2,
  minTotalRps: 500,
  connRateCapRps: 20_000,
  cooldownUs: 10_000,
  maxPerDecision: 20,
};

export interface LoadSignal {
  sumRps: number;
  individualRps: number;
  servers: number;
}

/** The connections (by key) to migrate now, busiest first; empty when the server is not overloaded. */
export function chooseMigrations<K>(policy: MigrationPolicy, signal: LoadSignal, conns: readonly { key: K; rps: number }[]): K[] {
  if (signal.servers < 2 || signal.sumRps < policy.minTotalRps) return [];
  const fair = signal.sumRps / signal.servers;
  const threshold = policy.overload * fair;
  let load = signal.individualRps;
  if (load <= threshold) return [];
  const out: K[] = [];
  const candidates = conns.filter((c) => c.rps > 0 && c.rps <= policy.connRateCapRps).sort((a, b) => b.rps - a.rps);
  for (const c of candidates) {
    if (load <= threshold || out.length >= policy.maxPerDecision) break;
    // Never shed below the fair share: the connection would only come back.
    if (load - c.rps < fair) continue;
    out.push(c.key);
    load -= c.rps;
  }
  return out;
}

/**
 * Load signals are smoothed with a 25 ms time constant, by the servers and by the switch alike.
 * The hardware compares single 1 ms intervals at hundreds of thousands of requests per second;
 * at a testbed's thousands an interval holds a handful of requests, and comparing those is
 * comparing noise (it made balanced servers trade connections back and forth).
 */
export const LOAD_TIME_CONSTANT_US = 25_000;

/** Weight of the past when one more interval of `intervalUs` is folded in. */
export function pastWeight(intervalUs: number): number {
  return Math.exp(-intervalUs / LOAD_TIME_CONSTANT_US);
}
