import { type NodeId, WireError } from '../runtime/core.js';
import { Reader, Writer, parseJson } from '../runtime/wire.js';
import type { KvInput, KvOutput } from '../check/kv-model.js';
import { equalBytes } from '../crypto/bytes.js';
import { KvDigest } from './kv-digest.js';
import type { StateMachine, StateMachineKind } from './state-machine.js';

/**
 * The replicated application: a key-value store with get, put and compare-and-set, executed
 * exactly once per (client, request id) — a retried request gets the recorded answer instead of
 * running again. Every execution leaves an undo record, so speculative execution can be rolled
 * back (NeoBFT replaces a slot with a no-op after a gap agreement).
 */
export interface KvRequest {
  client: number;
  requestId: number;
  op: KvInput;
}

interface Undo {
  key: string | null;
  previous: string | undefined;
  client: number;
  lastBefore: { requestId: number; result: KvOutput } | undefined;
}

export class KvStore {
  constructor(
    private readonly data = new Map<string, string>(),
    private readonly last = new Map<number, { requestId: number; result: KvOutput }>(),
    private readonly digests = new KvDigest(),
  ) {}

  /**
   * Executes (or answers a retry from the exactly-once table) and returns the result and how to
   * undo it. A request older than the client's latest has been superseded: result null, no reply.
   */
  execute(r: KvRequest): { result: KvOutput | null; undo: Undo } {
    const seen = this.last.get(r.client);
    const undo: Undo = { key: null, previous: undefined, client: r.client, lastBefore: seen };
    if (seen && seen.requestId >= r.requestId) return { result: seen.requestId === r.requestId ? seen.result : null, undo };
    const op = r.op;
    let result: KvOutput;
    if (op.op === 'get') result = { value: this.data.get(op.key) ?? null };
    else {
      undo.key = op.key;
      undo.previous = this.data.get(op.key);
      if (op.op === 'put') {
        this.set(op.key, op.value);
        result = {};
      } else {
        const ok = (this.data.get(op.key) ?? null) === op.expected;
        if (ok) this.set(op.key, op.value);
        result = { ok };
      }
    }
    this.last.set(r.client, { requestId: r.requestId, result });
    return { result, undo };
  }

  /** The client's latest executed request and its result (what a retry of it is answered with). */
  lastOf(client: number): { requestId: number; result: KvOutput } | undefined {
    return this.last.get(client);
  }

  /** Whether the client's request `requestId` (or a later one) has been executed. */
  answered(client: number, requestId: number): boolean {
    return (this.last.get(client)?.requestId ?? -1) >= requestId;
  }

  undo(u: Undo): void {
    if (u.key !== null) this.set(u.key, u.previous);
    if (u.lastBefore) this.last.set(u.client, u.lastBefore);
    else this.last.delete(u.client);
  }

  get size(): number {
    return this.data.size;
  }

  private set(key: string, value: string | undefined): void {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, value);
    this.digests.touch(key, this.data);
  }

  /** The digest of the whole state (data and exactly-once table), the same at every replica holding it (see KvDigest). */
  digest(): Uint8Array {
    return this.digests.digest(this.data, this.lastSorted());
  }

  /** A copy to keep (a checkpoint's state), without the canonical sorting a snapshot needs. */
  clone(): KvStore {
    return new KvStore(new Map(this.data), new Map(this.last), this.digests.clone());
  }

  private lastSorted(): KvSnapshot['last'] {
    return [...this.last].sort(([a], [b]) => a - b).map(([client, l]) => ({ client, requestId: l.requestId, result: l.result }));
  }

  /**
   * The whole state (data and exactly-once table), for state transfer; canonical (sorted), so
   * that replicas holding the same state encode it to the same bytes (NeoBFT's state digests).
   */
  snapshot(): KvSnapshot {
    return {
      data: [...this.data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      last: this.lastSorted(),
    };
  }

  static fromSnapshot(s: KvSnapshot): KvStore {
    const store = new KvStore();
    for (const [k, v] of s.data) store.set(k, v);
    for (const l of s.last) store.last.set(l.client, { requestId: l.requestId, result: l.result });
    return store;
  }
}

export interface KvSnapshot {
  data: [string, string][];
  last: { client: number; requestId: number; result: KvOutput }[];
}

export function encodeKvSnapshot(s: KvSnapshot): Uint8Array {
  return enc.encode(JSON.stringify(s));
}

export function decodeKvSnapshot(b: Uint8Array): KvSnapshot {
  const s = parseJson(b, 'bad-field', 'key-value snapshot') as KvSnapshot;
  if (!Array.isArray(s?.data) || !Array.isArray(s?.last)) throw new WireError('bad-field', 'key-value snapshot lacks data or last');
  if (!s.data.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'string')) {
    throw new WireError('bad-field', 'key-value snapshot has an entry that is not a [key, value] pair of strings');
  }
  if (!s.last.every((l) => Number.isInteger(l?.client) && Number.isInteger(l?.requestId) && typeof l?.result === 'object' && l.result !== null)) {
    throw new WireError('bad-field', 'key-value snapshot has a malformed exactly-once entry');
  }
  return s;
}

/** A transferred state, decoded and checked against the digest its certificate names; a string says why it is refused. */
export function openKvState(bytes: Uint8Array, digest: Uint8Array): KvStore | 'malformed-state' | 'state-digest-mismatch' {
  let store: KvStore;
  try {
    store = KvStore.fromSnapshot(decodeKvSnapshot(bytes));
  } catch (err) {
    if (err instanceof WireError) return 'malformed-state';
    throw err;
  }
  return equalBytes(store.digest(), digest) ? store : 'state-digest-mismatch';
}

const OPS = { get: 0, put: 1, cas: 2 } as const;
const enc = new TextEncoder();
const dec = new TextDecoder();

function str(w: Writer, s: string | null): void {
  if (s === null) {
    w.u16(0xffff);
    return;
  }
  const b = enc.encode(s);
  w.u16(b.length).raw(b);
}

const strSize = (s: string | null) => 2 + (s === null ? 0 : enc.encode(s).length);

function readStr(r: Reader, what: string): string | null {
  const n = r.u16(`${what} length`);
  return n === 0xffff ? null : dec.decode(r.bytesOf(n, what));
}

/** A request's wire form (the payload of an AOM request). */
export function encodeKvRequest(q: KvRequest): Uint8Array {
  const o = q.op;
  const size = 2 + 8 + 1 + strSize(o.key) + (o.op === 'put' ? strSize(o.value) : o.op === 'cas' ? strSize(o.expected) + strSize(o.value) : 0);
  const w = new Writer(size).u16(q.client).u64(q.requestId).u8(OPS[o.op]);
  str(w, o.key);
  if (o.op === 'put') str(w, o.value);
  if (o.op === 'cas') {
    str(w, o.expected);
    str(w, o.value);
  }
  return w.done();
}

export function decodeKvRequest(bytes: Uint8Array): KvRequest {
  const r = new Reader(bytes);
  const client = r.u16('client');
  const requestId = r.u64('request id');
  const kind = r.u8('operation');
  const key = readStr(r, 'key');
  if (key === null) throw new WireError('bad-field', 'a key is required');
  let op: KvInput;
  if (kind === OPS.get) op = { op: 'get', key };
  else if (kind === OPS.put) op = { op: 'put', key, value: readStr(r, 'value') ?? '' };
  else if (kind === OPS.cas) {
    const expected = readStr(r, 'expected value');
    op = { op: 'cas', key, expected, value: readStr(r, 'value') ?? '' };
  } else throw new WireError('bad-field', `unknown operation ${kind}`);
  r.end('request');
  return { client, requestId, op };
}

/** What a BFT replica serving key-value clients is told about them, and how it batches and retransmits (PBFT's and HotStuff's parameters). */
export interface KvServiceParams {
  /** The key this replica shares with a client (reply MACs). */
  clientKey(client: number): Uint8Array;
  clientNode(client: number): NodeId;
  /** Clients of the testbed (ids 0 … clients − 1): a request in any other client's name is refused. */
  clients: number;
  maxBatch: number;
  batchDelayUs: number;
  retryUs: number;
}

/**
 * A request from one of the testbed's `clients` clients, or a WireError('unknown-client'):
 * executing a request in a made-up client's name would answer nobody and keep an exactly-once
 * entry for nobody (replicas all refuse it alike: they share the configuration).
 */
export function fromKnownClient<R extends { client: number }>(r: R, clients: number): R {
  if (r.client >= clients) throw new WireError('unknown-client', `request in the name of client ${r.client}; the testbed has ${clients} clients`);
  return r;
}

/**
 * A request's payload decoded and from a known client, or null with the refusal reported
 * (`unknown-client`, else `malformed-request`): what a replica does with every request it is
 * given (a faulty primary's batch may hold anything, and every correct replica skips it alike).
 */
export function openRequest(payload: Uint8Array, clients: number, refused: (reason: 'unknown-client' | 'malformed-request') => void): KvRequest | null {
  try {
    return fromKnownClient(decodeKvRequest(payload), clients);
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    refused(err.reason === 'unknown-client' ? err.reason : 'malformed-request');
    return null;
  }
}

/** Results travel as JSON inside replies (small, and only compared byte for byte). */
export const encodeResult = (r: KvOutput) => enc.encode(JSON.stringify(r));

/** A reply's result, or a WireError('bad-result'): a client parses what a (possibly faulty or forged) reply carries. */
export function decodeResult(b: Uint8Array): KvOutput {
  const v = parseJson(b, 'bad-result', 'a key-value result');
  const keys = v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : null;
  const r = v as Record<string, unknown>;
  const shaped = keys !== null && (keys.length === 0
    || (keys.length === 1 && ((keys[0] === 'value' && (r.value === null || typeof r.value === 'string')) || (keys[0] === 'ok' && typeof r.ok === 'boolean'))));
  if (!shaped) throw new WireError('bad-result', 'a key-value result is none of {}, {"value": string or null}, {"ok": boolean}');
  return v as KvOutput;
}

/** The key-value store as a replicated state machine (HydraPaxos's application), for a testbed of `clients` clients. */
export function kvStateMachine(clients: number): StateMachineKind {
  return {
    create: () => kvMachine(new KvStore(), clients),
    restore: (snapshot) => kvMachine(KvStore.fromSnapshot(decodeKvSnapshot(snapshot)), clients),
  };
}

function kvMachine(store: KvStore, clients: number): StateMachine {
  return {
    execute(request) {
      const q = fromKnownClient(decodeKvRequest(request), clients);
      const { result, undo } = store.execute(q);
      return { client: q.client, requestId: q.requestId, result: result === null ? null : encodeResult(result), undo };
    },
    undo: (u) => store.undo(u as Undo),
    snapshot: () => encodeKvSnapshot(store.snapshot()),
    contents: () => JSON.stringify(store.snapshot().data.sort()),
  };
}
