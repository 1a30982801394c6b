import type { HydraMsg } from '../hydra/messages.js';

/**
 * HydraPaxos messages (NOPaxos's messages adapted to Hydra; docs/hydrapaxos.md#messages). A log slot is
 * named by the Hydra slot that filled it: (sequencer, the configuration its incarnation joined
 * in, sequence number in the group). Log order is Hydra's (clock, sequencer id) order.
 */
export interface SlotId {
  sequencer: number;
  epoch: number;
  seq: number;
}

/** A place in Hydra's total order. */
export interface OrderKey {
  clock: number;
  sequencer: number;
}

/** A logged request: its slot, its place in the order, and the client's request bytes. */
export interface LogEntry {
  slot: SlotId;
  clock: number;
  /** The Hydra message's destination groups and its sequence number in each (HydraTxn's multi-shard transactions). */
  groups: number;
  stamps: number[];
  request: Uint8Array;
}

/** A message's number in one group: how a shard that lost it names it to the others. */
export interface Stamp {
  sequencer: number;
  epoch: number;
  group: number;
  seq: number;
}

/**
 * A shard's promise about the message bearing a stamp (HydraTxn, Eris's temporary and
 * permanent drops): `held` — not executed here until decided; `released` — decided found,
 * execute it; `dropped` — decided lost everywhere, a NO-OP wherever it shows up.
 */
export type HoldState = 'held' | 'released' | 'dropped';

export interface Hold extends Stamp {
  state: HoldState;
}

/** Per Hydra stream (sequencer incarnation): the next sequence number not yet in the log. */
export interface StreamCounter {
  sequencer: number;
  epoch: number;
  next: number;
}

/** A point in the log: everything up to `key` is decided, and per stream everything below `next`. */
export interface LogPoint {
  key: OrderKey;
  streams: StreamCounter[];
}

/** What a replica knows past its last sync point (VIEW-CHANGE, START-VIEW). */
export interface LogState {
  sync: LogPoint;
  entries: LogEntry[];
  noops: SlotId[];
  end: LogPoint;
  holds: Hold[];
}

/** A replica's answer to a client: the leader's carries the result, the others' only vouch for the slot. */
export interface PxReply {
  type: 'px-reply';
  view: number;
  group: number;
  replica: number;
  client: number;
  requestId: number;
  slot: SlotId;
  result: Uint8Array | null;
}

/** A replica that got a drop notification asks its peers for the message. */
export interface PxGapRequest {
  type: 'px-gap-request';
  view: number;
  replica: number;
  slot: SlotId;
}

export type GapStatus = 'found' | 'noop' | 'missing' | 'truncated';

export interface PxGapReply {
  type: 'px-gap-reply';
  view: number;
  replica: number;
  slot: SlotId;
  status: GapStatus;
  entry: LogEntry | null;
}

/** The leader fills a slot nobody has with a NO-OP (gap agreement). */
export interface PxGapCommit {
  type: 'px-gap-commit';
  view: number;
  slot: SlotId;
}

export interface PxGapCommitOk {
  type: 'px-gap-commit-ok';
  view: number;
  replica: number;
  slot: SlotId;
}

/** The leader's periodic SYNC (and heartbeat): its log end and the NO-OPs it decided since the last sync point. */
export interface PxSync {
  type: 'px-sync';
  view: number;
  point: LogPoint;
  noops: SlotId[];
}

export interface PxSyncOk {
  type: 'px-sync-ok';
  view: number;
  replica: number;
  key: OrderKey;
}

/** f+1 replicas hold the log up to `key`: it is stable, and replicas drop what they kept to undo it. */
export interface PxSyncCommit {
  type: 'px-sync-commit';
  view: number;
  key: OrderKey;
}

/** Asks every replica to move to `view` (a suspected leader). */
export interface PxViewChangeRequest {
  type: 'px-view-change-request';
  view: number;
}

export interface PxViewChange {
  type: 'px-view-change';
  view: number;
  replica: number;
  lastNormal: number;
  log: LogState;
}

export interface PxStartView {
  type: 'px-start-view';
  view: number;
  log: LogState;
}

/** A restarted or lagging replica asks for a peer's state. */
export interface PxStateRequest {
  type: 'px-state-request';
  replica: number;
  nonce: number;
}

/** A replica that never had any state (it is booting, or nothing happened yet). */
export interface PxStateEmpty {
  type: 'px-state-empty';
  replica: number;
  nonce: number;
  /** The answerer is itself still looking for state: it may have lost it (a restart), so its answer proves less. */
  recovering: boolean;
}

/** The state at a replica's last sync point plus its log since. */
export interface PxState {
  type: 'px-state';
  replica: number;
  nonce: number;
  view: number;
  normal: boolean;
  /** The responder's Hydra configuration, encoded as a Hydra CONFIG message. */
  config: Uint8Array;
  /** The key-value store at the sync point (encoded snapshot). */
  store: Uint8Array;
  log: LogState;
}

/** The leader records a hold at its followers (f+1 must have it before it counts). */
export interface PxHold {
  type: 'px-hold';
  view: number;
  hold: Hold;
}

export interface PxHoldOk {
  type: 'px-hold-ok';
  view: number;
  replica: number;
  hold: Hold;
}

/** A shard's leader that lost a message asks every other shard for it (the failure coordinator's query). */
export interface PxTxnFind {
  type: 'px-txn-find';
  group: number;
  stamp: Stamp;
}

/** A shard leader's sticky answer: the message (stable here), or a promise that it is held or dropped here. */
export interface PxTxnAnswer {
  type: 'px-txn-answer';
  group: number;
  stamp: Stamp;
  status: 'found' | 'held' | 'dropped';
  entry: LogEntry | null;
}

/** The coordinator's decision: execute it everywhere (with the message), or NO-OP it everywhere. */
export interface PxTxnDecide {
  type: 'px-txn-decide';
  group: number;
  stamp: Stamp;
  entry: LogEntry | null;
}

export interface PxTxnDecided {
  type: 'px-txn-decided';
  group: number;
  stamp: Stamp;
}

/** One piece of a message too large for a datagram. */
export interface PxChunk {
  type: 'px-chunk';
  sender: number;
  nonce: number;
  index: number;
  total: number;
  bytes: Uint8Array;
}

export type PaxosMsg =
  | PxReply
  | PxGapRequest
  | PxGapReply
  | PxGapCommit
  | PxGapCommitOk
  | PxSync
  | PxSyncOk
  | PxSyncCommit
  | PxViewChangeRequest
  | PxViewChange
  | PxStartView
  | PxStateRequest
  | PxStateEmpty
  | PxState
  | PxHold
  | PxHoldOk
  | PxTxnFind
  | PxTxnAnswer
  | PxTxnDecide
  | PxTxnDecided
  | PxChunk;

/** Everything a HydraPaxos testbed sends: Hydra's own messages and the replication protocol's. */
export type HydraPaxosMsg = HydraMsg | PaxosMsg;

export const slotKey = (s: SlotId) => `${s.sequencer}.${s.epoch}.${s.seq}`;
export const streamKey = (sequencer: number, epoch: number) => `${sequencer}.${epoch}`;
export const entryKey = (e: LogEntry): OrderKey => ({ clock: e.clock, sequencer: e.slot.sequencer });
export const keyBefore = (a: OrderKey, b: OrderKey) => a.clock < b.clock || (a.clock === b.clock && a.sequencer < b.sequencer);
export const keyAtMost = (a: OrderKey, b: OrderKey) => !keyBefore(b, a);
export const ORIGIN: OrderKey = { clock: -1, sequencer: -1 };

export const stampKey = (s: Stamp) => `${s.sequencer}.${s.epoch}.${s.group}.${s.seq}`;

/** Every stamp of a logged message, one per destination group. */
export function stampsOf(e: LogEntry): Stamp[] {
  const out: Stamp[] = [];
  let i = 0;
  for (let g = 0; g < 32; g++) {
    if (e.groups & (1 << g)) out.push({ sequencer: e.slot.sequencer, epoch: e.slot.epoch, group: g, seq: e.stamps[i++]! });
  }
  return out;
}

/** A logged message's sequence number in `group`, if it went there. */
export function stampIn(e: LogEntry, group: number): number | undefined {
  if (!(e.groups & (1 << group))) return undefined;
  let i = 0;
  for (let g = 0; g < group; g++) if (e.groups & (1 << g)) i++;
  return e.stamps[i];
}
