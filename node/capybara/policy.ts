/**
 * When a server sheds connections, and which (docs/capybara.md#the-policy): the SIGCOMM'26
 * artifact's two halves, generalised to N servers, and the hold-off below capacity. Pure: the
 * server passes its load, its connections and the time; the decision comes back with the new
 * cooldowns.
 *
 * - **Rate (RPS) half** (the artifact's `rps_signal_action`): a server whose rate exceeds
 *   (threshold + ε) × its fair share (sum / N) sheds its busiest connections at or under the
 *   per-connection cap until it is back at threshold × fair share, never below the fair share,
 *   at most `maxPerDecision` per decision, then waits out `cooldownUs`. With 2 servers the
 *   defaults (1.1 + 0.1) are the 2024 code's 0.55 + 0.05 of the sum, and the SIGCOMM'26
 *   MIG_THRESHOLD_PCT=60.
 * - **Reactive (queue-length) half**: a server whose service queue holds `queueThreshold`
 *   requests or more sheds its busiest connections that have requests waiting, until the queue
 *   is back at the threshold, then waits out `reactiveCooldownUs`. Under `capybara` it is on only
 *   while the rate is over the threshold (the 2024 code: "reactive migration stays on while over
 *   the threshold"); under `reactive` the queue alone decides.
 * - `reconnect` resets what the rate half would move (not the queue half's: see `decide`).
 * - **Hold-off** (Switchyard's): neither half of `capybara` moves anything while the server is
 *   not short of capacity — its arrival rate below `shortAtUtilisation` of what it can serve —
 *   since below capacity a migration only adds a blackout to the tail. Unknown capacity (no
 *   emulated service time: the process serves as fast as the machine runs) never holds off.
 */

export type MigrationMode = 'capybara' | 'reactive' | 'lwrr' | 'reconnect';

export interface MigrationPolicy {
  /** RPS_THRESHOLD as a multiple of the fair share: where shedding stops. */
  rpsThreshold: number;
  /** THRESHOLD_EPSILON, same unit: shedding starts above rpsThreshold + epsilon. */
  epsilon: number;
  /** No rate-triggered shedding while the whole cluster serves fewer requests per second than this (MIN_THRESHOLD). */
  minTotalRps: number;
  /** Only connections at or under this rate move (MIG_CONN_RPS_CAP): moving an elephant only moves the hotspot. */
  connRateCapRps: number;
  cooldownUs: number;
  /** Capybara's MAX_EXTRACTED_CONNECTIONS. */
  maxPerDecision: number;
  /** Requests waiting for service that trigger reactive migration (RECV_QUEUE_LEN_THRESHOLD / MIG_QUEUE_TRIGGER_LEN). */
  queueThreshold: number;
  reactiveCooldownUs: number;
  /** A server with a known capacity is short of it from this share of it on. */
  shortAtUtilisation: number;
}

/** The artifact's defaults (docs/capybara.md#the-policy); the queue knobs are those of `capybara` mode. */
export const defaultMigrationPolicy: MigrationPolicy = {
  rpsThreshold: 1.1,
  epsilon: 0.1,
  minTotalRps: 500,
  connRateCapRps: 200_000,
  cooldownUs: 10_000,
  maxPerDecision: 20,
  queueThreshold: 20,
  reactiveCooldownUs: 10_000,
  shortAtUtilisation: 0.9,
};

/** The reactive-only variant's own queue knobs (the artifact's MIG_QUEUE_TRIGGER_LEN=10, cooldown 5 ms). */
export const reactiveModeQueue = { queueThreshold: 10, reactiveCooldownUs: 5_000 } as const;

/** What a server knows of its load when it decides. */
export interface ServerLoad {
  /** The switch's signal, smoothed: requests to every server and to this one, per second. */
  sumRps: number;
  individualRps: number;
  servers: number;
  /** Requests arriving here per second (smoothed), as this server counts them. */
  arrivalRps: number;
  /** Requests per second this server can serve (null: unknown). */
  capacityRps: number | null;
  /** Requests waiting for service here now. */
  queue: number;
}

export interface Candidate<K> {
  key: K;
  rps: number;
  /** Its requests waiting for service here. */
  queued: number;
}

export interface Cooldowns {
  rateUntil: number;
  queueUntil: number;
}

export type Trigger = 'rate' | 'queue';

export interface Decision<K> {
  keys: K[];
  /** Which half chose them (null: nothing to move). */
  trigger: Trigger | null;
  cooldowns: Cooldowns;
}

/** Whether the server cannot serve what it is sent: its arrival rate at `shortAtUtilisation` of its capacity or more. */
export function shortOfCapacity(policy: MigrationPolicy, load: ServerLoad): boolean {
  return load.capacityRps === null || load.arrivalRps >= policy.shortAtUtilisation * load.capacityRps;
}

/** The rate half: the busiest connections under the cap, until the rate is back at the threshold; empty unless over threshold + ε. */
export function shedByRate<K>(policy: MigrationPolicy, load: ServerLoad, conns: readonly Candidate<K>[]): K[] {
  if (load.servers < 2 || load.sumRps < policy.minTotalRps) return [];
  const fair = load.sumRps / load.servers;
  if (load.individualRps <= (policy.rpsThreshold + policy.epsilon) * fair) return [];
  const target = policy.rpsThreshold * fair;
  let rate = load.individualRps;
  const out: K[] = [];
  for (const c of movable(policy, conns, (a, b) => b.rps - a.rps)) {
    if (rate <= target || out.length >= policy.maxPerDecision) break;
    // Never shed below the fair share: the connection would only come back.
    if (c.rps <= 0 || rate - c.rps < fair) continue;
    out.push(c.key);
    rate -= c.rps;
  }
  return out;
}

/**
 * The reactive half: the busiest connections with requests waiting, until what they take with
 * them brings the queue back to the threshold. By rate, not by queue: the queued work moves with
 * a connection, and only its future requests are taken off this server — a connection just
 * arrived with a long queue (its rate here still small) would otherwise bounce straight back.
 */
export function shedByQueue<K>(policy: MigrationPolicy, load: ServerLoad, conns: readonly Candidate<K>[]): K[] {
  if (load.servers < 2 || load.queue < policy.queueThreshold) return [];
  let queue = load.queue;
  const out: K[] = [];
  for (const c of movable(policy, conns, (a, b) => b.rps - a.rps || b.queued - a.queued)) {
    if (queue <= policy.queueThreshold || out.length >= policy.maxPerDecision) break;
    if (c.queued === 0) continue;
    out.push(c.key);
    queue -= c.queued;
  }
  return out;
}

function movable<K>(policy: MigrationPolicy, conns: readonly Candidate<K>[], order: (a: Candidate<K>, b: Candidate<K>) => number): Candidate<K>[] {
  return conns.filter((c) => c.rps <= policy.connRateCapRps).sort(order);
}

/**
 * One decision at a load signal, by mode: `lwrr` never moves; `reactive` runs the queue half
 * alone; `capybara` runs the rate half, then the queue half while over the threshold, both only
 * when short of capacity; `reconnect` resets what the rate half would move, when short of
 * capacity (not the queue half: a reset client sends its outstanding requests again, they queue
 * again, and queue-triggered resets would cut the same clients off in a loop).
 */
export function decide<K>(mode: MigrationMode, policy: MigrationPolicy, load: ServerLoad, conns: readonly Candidate<K>[], now: number, cooldowns: Cooldowns): Decision<K> {
  const none: Decision<K> = { keys: [], trigger: null, cooldowns };
  if (mode === 'lwrr') return none;
  const byQueue = (): Decision<K> => {
    if (now < cooldowns.queueUntil) return none;
    const keys = shedByQueue(policy, load, conns);
    return keys.length === 0 ? none : { keys, trigger: 'queue', cooldowns: { ...cooldowns, queueUntil: now + policy.reactiveCooldownUs } };
  };
  if (mode === 'reactive') return byQueue();
  if (!shortOfCapacity(policy, load)) return none;
  if (now >= cooldowns.rateUntil) {
    const keys = shedByRate(policy, load, conns);
    if (keys.length > 0) return { keys, trigger: 'rate', cooldowns: { ...cooldowns, rateUntil: now + policy.cooldownUs } };
  }
  if (mode === 'reconnect') return none;
  const over = load.servers >= 2 && load.individualRps > (policy.rpsThreshold * load.sumRps) / load.servers;
  return over ? byQueue() : none;
}

/**
 * Load signals are smoothed with a 25 ms time constant, by the servers and by the switch alike.
 * The hardware compares single 1 ms intervals at hundreds of thousands of requests per second;
 * at a testbed's thousands an interval holds a handful of requests, and comparing those is
 * comparing noise (it made balanced servers trade connections back and forth).
 */
export const LOAD_TIME_CONSTANT_US = 25_000;

/** Weight of the past when one more interval of `intervalUs` is folded in. */
export function pastWeight(intervalUs: number, timeConstantUs = LOAD_TIME_CONSTANT_US): number {
  return Math.exp(-intervalUs / timeConstantUs);
}

/**
 * Requests the hold-off's arrival rate is averaged over, at least: at a testbed's hundreds of
 * requests per second a 25 ms average holds a handful, and its noise crossed 90 % of capacity at
 * 50 % load (measured: 681 needless migrations in 12 s with 4 servers at 250 requests/s each).
 */
export const SHORT_WINDOW_REQUESTS = 50;

/** The time constant of a server's arrival rate for the hold-off: long enough to hold SHORT_WINDOW_REQUESTS at capacity. */
export function arrivalTimeConstantUs(capacityRps: number | null): number {
  return Math.max(LOAD_TIME_CONSTANT_US, capacityRps === null ? 0 : (SHORT_WINDOW_REQUESTS / capacityRps) * 1e6);
}
