import type { StateMachine } from '../vr/replica.js';
import type { ActiveSequencer, Config, FinalFlush, FlushState } from './messages.js';

/** A configuration change under way: receivers have been (or are being) asked to prepare `newConfig`. */
export interface PlannedChange {
  kind: 'remove' | 'add';
  sequencer: number;
  /** The incarnation removed, or the one being added. */
  incarnation: number;
  newConfig: number;
}

/**
 * What the replicated configuration service decides (docs/hydra.md#reconfiguration): the current
 * configuration, the sequencer ids the operator wants, and the change in progress. Everything
 * else the service keeps (who JOINed lately, suspicions, the receivers' reports) is gathered
 * again by a new primary from the members, which repeat it until they are answered.
 */
export interface ConfigState {
  config: Config;
  desired: number[];
  /** When the admin command that set `desired` arrived (µs at the member that took it); older ones lose. */
  desiredAt: number;
  change: PlannedChange | null;
}

/** Commands of the replicated log; each one that no longer fits the state is a no-op. */
export type ConfigCommand =
  | { kind: 'desire'; sequencers: number[]; at: number }
  /** First JOIN of an initial sequencer: its incarnation is admitted into the current configuration. */
  | { kind: 'admit'; sequencer: number; incarnation: number }
  | { kind: 'begin'; change: PlannedChange }
  /** Ends a removal with the removed sequencer's final flush. */
  | { kind: 'removed'; newConfig: number; final: FlushState }
  /** Ends an addition with the joiner's start frontier. */
  | { kind: 'added'; newConfig: number; start: number }
  /** Ends an addition whose joiner never flushed: the configuration goes on without it. */
  | { kind: 'aborted'; newConfig: number };

/** Removed sequencers' final flushes kept in a configuration (receivers far behind need the older ones rarely). */
export const FINALS_KEPT = 16;

export function initialConfigState(config: Config, desired: number[]): ConfigState {
  return { config, desired: [...desired].sort((a, b) => a - b), desiredAt: 0, change: null };
}

/** The configuration service's state machine; `apply` returns the same object when a command does not apply. */
export function configStateMachine(initial: ConfigState): StateMachine<ConfigState, ConfigCommand> {
  return { initial, apply };
}

function apply(s: ConfigState, c: ConfigCommand): ConfigState {
  switch (c.kind) {
    case 'desire':
      if (c.at <= s.desiredAt) return s;
      return { ...s, desired: [...new Set(c.sequencers)].sort((a, b) => a - b), desiredAt: c.at };
    case 'admit': {
      const entry = s.config.active.find((a) => a.sequencer === c.sequencer);
      if (!entry || entry.incarnation !== 0) return s;
      const active = s.config.active.map((a) => (a === entry ? { ...a, incarnation: c.incarnation } : a));
      return { ...s, config: { ...s.config, active } };
    }
    case 'begin':
      if (s.change || c.change.newConfig !== s.config.config + 1) return s;
      return { ...s, change: c.change };
    case 'removed': {
      const ch = s.change;
      if (!ch || ch.kind !== 'remove' || ch.newConfig !== c.newConfig) return s;
      const joined = s.config.active.find((a) => a.sequencer === ch.sequencer)?.joined ?? 0;
      const final: FinalFlush = { ...c.final, sequencer: ch.sequencer, config: ch.newConfig, joined };
      return {
        ...s,
        change: null,
        config: {
          type: 'config', config: ch.newConfig, active: s.config.active.filter((a) => a.sequencer !== ch.sequencer),
          finals: [...s.config.finals, final].slice(-FINALS_KEPT),
        },
      };
    }
    case 'added': {
      const ch = s.change;
      if (!ch || ch.kind !== 'add' || ch.newConfig !== c.newConfig) return s;
      const joiner: ActiveSequencer = { sequencer: ch.sequencer, joined: ch.newConfig, start: c.start, incarnation: ch.incarnation };
      return {
        ...s,
        change: null,
        config: {
          type: 'config', config: ch.newConfig, active: [...s.config.active, joiner].sort((a, b) => a.sequencer - b.sequencer),
          finals: s.config.finals,
        },
      };
    }
    case 'aborted': {
      const ch = s.change;
      if (!ch || ch.kind !== 'add' || ch.newConfig !== c.newConfig) return s;
      return { ...s, change: null, config: { ...s.config, config: ch.newConfig } };
    }
  }
}
