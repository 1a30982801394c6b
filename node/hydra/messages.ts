import type { VrMsg } from '../vr/messages.js';
import type { ConfigCommand, ConfigState } from './config-state.js';

/**
 * Hydra messages. A groupcast carries the destination-group bitmap, the sequencer id, the
 * sequencer's clock, one sequence number per destination group (the multi-stamp) and the
 * configuration number it was stamped in (docs/hydra.md#messages). Bit widths are not published;
 * we use u16 member ids, u32 configuration numbers and group bitmaps (≤ 32 groups), and 64-bit
 * clocks (µs) and sequence numbers.
 */

/** A sender's message on its way to a sequencer. */
export interface ClientMsg {
  type: 'client';
  client: number;
  msgId: number;
  /** Bitmap of destination groups. */
  groups: number;
  /** Sender clock at send time (µs), for end-to-end latency. */
  sentAt: number;
  payload: Uint8Array;
}

/** A stamped message multicast by a sequencer to every receiver of its destination groups. */
export interface Groupcast {
  type: 'groupcast';
  config: number;
  sequencer: number;
  clock: number;
  groups: number;
  /** One sequence number per set bit of `groups`, lowest group first. */
  stamps: number[];
  client: number;
  msgId: number;
  sentAt: number;
  payload: Uint8Array;
}

/** What a flush says about one sequencer: its clock and latest sequence number for every group. */
export interface FlushState {
  sequencer: number;
  config: number;
  clock: number;
  /** Indexed by group. */
  seqs: number[];
}

export interface Flush extends FlushState {
  type: 'flush';
  solicited: boolean;
}

/** The flush aggregator's combined forward: the latest flush of every active sequencer. */
export interface AggFlush {
  type: 'aggflush';
  flushes: FlushState[];
}

/** A receiver holding undelivered messages asks a lagging sequencer for a flush. */
export interface FlushReq {
  type: 'flushreq';
  receiver: number;
  config: number;
}

/** A receiver tells the configuration service it has not heard from a sequencer. */
export interface Suspect {
  type: 'suspect';
  receiver: number;
  config: number;
  sequencer: number;
}

/** The configuration service proposes configuration `newConfig` that removes or adds `sequencer`. */
export interface Prepare {
  type: 'prepare';
  newConfig: number;
  change: 'remove' | 'add';
  sequencer: number;
}

/** A receiver's (or the leaving sequencer's own) highest counters seen from a sequencer being removed. */
export interface RemoveReport {
  type: 'removereport';
  newConfig: number;
  reporter: number;
  sequencer: number;
  clock: number;
  seqs: number[];
}

/** A receiver's report of the first flush of a joining sequencer later than all it delivered. */
export interface AddReport {
  type: 'addreport';
  newConfig: number;
  receiver: number;
  sequencer: number;
  clock: number;
}

export interface ActiveSequencer {
  sequencer: number;
  /** Configuration in which this incarnation joined; older stamps from this id are stale. */
  joined: number;
  /** Start frontier: the clock from which this sequencer's stamps are ordered. */
  start: number;
  /** Which boot of the sequencer process this entry admits (0 until its first JOIN). */
  incarnation: number;
}

/**
 * A removed sequencer's final flush: its unknown tail up to `seqs` becomes drop notifications.
 * `config` is the configuration that removed it, `joined` the one its incarnation joined in (with
 * `sequencer`, the stream's name): a receiver that missed both configurations learns from it that
 * the stream existed, and finishes it (docs/hydra.md#reconfiguration).
 */
export interface FinalFlush extends FlushState {
  joined: number;
}

export interface Config {
  type: 'config';
  config: number;
  active: ActiveSequencer[];
  /** Final flushes of recently removed sequencers (`config` = the configuration that removed it). */
  finals: FinalFlush[];
}

export interface ConfigAck {
  type: 'configack';
  member: number;
  config: number;
}

/** A sequencer's recent load, fed back to senders for load-aware routing. */
export interface Load {
  type: 'load';
  sequencer: number;
  /** Messages stamped per second over the last interval. */
  rate: number;
}

/** A sequencer process announcing itself after (re)starting. */
export interface Join {
  type: 'join';
  sequencer: number;
  /** Unique per process boot, so a restarted sequencer (whose counters restarted) is told apart. */
  incarnation: number;
}

/** Between the configuration service's replicas: Viewstamped Replication of its decisions. */
export type ConfigVrMsg = VrMsg<ConfigState, ConfigCommand>;

export type HydraMsg =
  | ClientMsg
  | Groupcast
  | Flush
  | AggFlush
  | FlushReq
  | Suspect
  | Prepare
  | RemoveReport
  | AddReport
  | Config
  | ConfigAck
  | Load
  | Join
  | ConfigVrMsg;
