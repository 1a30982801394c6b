import { WireError } from '../runtime/core.js';
import { type Part, type PartTable, type Reader, Writer, partOf, readBody } from '../runtime/wire.js';
import { VR_TYPES, type VrLog, type VrMsg } from './messages.js';

/** A value's bytes as hex: equal values give equal strings (what the simulation's checkers compare). */
export function partHex<X>(part: Part<X>, x: X): string {
  const w = new Writer(part.size(x));
  part.write(w, x);
  return Buffer.from(w.done()).toString('hex');
}

/** Uncommitted ops a log may carry: a primary proposes far fewer at a time. */
const MAX_OPS = 1000;
const MAX_REPLICAS = 255;

type Msg<S, C, T extends VrMsg<S, C>['type']> = Extract<VrMsg<S, C>, { type: T }>;

function replicaR(r: Reader): number {
  const i = r.u8('replica');
  if (i >= MAX_REPLICAS) throw new WireError('bad-field', `replica number ${i}`);
  return i;
}

/** A log: its commit-number, the state after it, then the uncommitted ops. */
function logPart<S, C>(state: Part<S>, command: Part<C>): Part<VrLog<S, C>> {
  return {
    size: (l) => 4 + state.size(l.state) + 2 + l.ops.reduce((n, c) => n + command.size(c), 0),
    write(w, l) {
      w.u32(l.commit);
      state.write(w, l.state);
      w.u16(l.ops.length);
      for (const c of l.ops) command.write(w, c);
    },
    read(r) {
      const commit = r.u32('commit-number');
      const s = state.read(r);
      const n = r.u16('op count');
      if (n > MAX_OPS) throw new WireError('bad-field', `a log of ${n} uncommitted ops (max ${MAX_OPS})`);
      const ops: C[] = [];
      for (let i = 0; i < n; i++) ops.push(command.read(r));
      return { commit, state: s, ops };
    },
  };
}

/** §4.1 normal operation, and a backup's forwarded REQUEST. */
function normalParts<S, C>(command: Part<C>) {
  return {
    'vr-prepare': {
      size: (m: Msg<S, C, 'vr-prepare'>) => 4 + 4 + command.size(m.command) + 4,
      write(w: Writer, m: Msg<S, C, 'vr-prepare'>) {
        command.write(w.u32(m.view).u32(m.op), m.command);
        w.u32(m.commit);
      },
      read(r: Reader): Msg<S, C, 'vr-prepare'> {
        const view = r.u32('view');
        const op = r.u32('op-number');
        const c = command.read(r);
        return { type: 'vr-prepare', view, op, command: c, commit: r.u32('commit-number') };
      },
    },
    'vr-prepare-ok': opReplicaPart('vr-prepare-ok'),
    'vr-commit': {
      size: () => 4 + 4,
      write: (w: Writer, m: Msg<S, C, 'vr-commit'>) => w.u32(m.view).u32(m.commit),
      read: (r: Reader): Msg<S, C, 'vr-commit'> => ({ type: 'vr-commit', view: r.u32('view'), commit: r.u32('commit-number') }),
    },
    'vr-request': {
      size: (m: Msg<S, C, 'vr-request'>) => command.size(m.command),
      write: (w: Writer, m: Msg<S, C, 'vr-request'>) => command.write(w, m.command),
      read: (r: Reader): Msg<S, C, 'vr-request'> => ({ type: 'vr-request', command: command.read(r) }),
    },
  };
}

/** PREPAREOK and GETSTATE: a view, an op-number and a replica. */
function opReplicaPart<T extends 'vr-prepare-ok' | 'vr-get-state'>(type: T): Part<{ type: T; view: number; op: number; replica: number }> {
  return {
    size: () => 4 + 4 + 1,
    write: (w, m) => w.u32(m.view).u32(m.op).u8(m.replica),
    read: (r) => ({ type, view: r.u32('view'), op: r.u32('op-number'), replica: replicaR(r) }),
  };
}

/** STARTVIEW and NEWSTATE: a view and a log. */
function viewLogPart<S, C, T extends 'vr-start-view' | 'vr-new-state'>(type: T, log: Part<VrLog<S, C>>): Part<{ type: T; view: number; log: VrLog<S, C> }> {
  return {
    size: (m) => 4 + log.size(m.log),
    write(w, m) {
      w.u32(m.view);
      log.write(w, m.log);
    },
    read: (r) => ({ type, view: r.u32('view'), log: log.read(r) }),
  };
}

/** §4.2 view change. */
function viewChangeParts<S, C>(log: Part<VrLog<S, C>>) {
  return {
    'vr-start-view-change': {
      size: () => 4 + 1,
      write: (w: Writer, m: Msg<S, C, 'vr-start-view-change'>) => w.u32(m.view).u8(m.replica),
      read: (r: Reader): Msg<S, C, 'vr-start-view-change'> => ({ type: 'vr-start-view-change', view: r.u32('view'), replica: replicaR(r) }),
    },
    'vr-do-view-change': {
      size: (m: Msg<S, C, 'vr-do-view-change'>) => 4 + 4 + log.size(m.log) + 1,
      write(w: Writer, m: Msg<S, C, 'vr-do-view-change'>) {
        w.u32(m.view).u32(m.lastNormal);
        log.write(w, m.log);
        w.u8(m.replica);
      },
      read: (r: Reader): Msg<S, C, 'vr-do-view-change'> => ({
        type: 'vr-do-view-change', view: r.u32('view'), lastNormal: r.u32('last normal view'), log: log.read(r), replica: replicaR(r),
      }),
    },
    'vr-start-view': viewLogPart('vr-start-view', log),
  };
}

/** §4.3 recovery and §5.2 state transfer. */
function recoveryParts<S, C>(log: Part<VrLog<S, C>>) {
  return {
    'vr-recovery': {
      size: () => 1 + 8,
      write: (w: Writer, m: Msg<S, C, 'vr-recovery'>) => w.u8(m.replica).u64(m.nonce),
      read: (r: Reader): Msg<S, C, 'vr-recovery'> => ({ type: 'vr-recovery', replica: replicaR(r), nonce: r.u64('nonce') }),
    },
    'vr-recovery-response': {
      size: (m: Msg<S, C, 'vr-recovery-response'>) => 4 + 8 + 1 + 1 + (m.log ? log.size(m.log) : 0),
      write(w: Writer, m: Msg<S, C, 'vr-recovery-response'>) {
        w.u32(m.view).u64(m.nonce).u8(m.replica).u8((m.recovering ? 1 : 0) | (m.log ? 2 : 0));
        if (m.log) log.write(w, m.log);
      },
      read(r: Reader): Msg<S, C, 'vr-recovery-response'> {
        const view = r.u32('view');
        const nonce = r.u64('nonce');
        const from = replicaR(r);
        const flags = r.u8('flags');
        if (flags > 3) throw new WireError('bad-field', `recovery response flags 0x${flags.toString(16)}`);
        return { type: 'vr-recovery-response', view, nonce, replica: from, recovering: (flags & 1) === 1, log: flags & 2 ? log.read(r) : null };
      },
    },
    'vr-get-state': opReplicaPart('vr-get-state'),
    'vr-new-state': viewLogPart('vr-new-state', log),
  };
}

/**
 * Viewstamped Replication messages inside a host protocol's datagrams: the host writes its own
 * header, then a VR type byte (the index in VR_TYPES) and the message's fields; states and
 * commands are the host's `Part`s.
 */
export function vrWire<S, C>(state: Part<S>, command: Part<C>): Part<VrMsg<S, C>> {
  const log = logPart(state, command);
  const table: PartTable<VrMsg<S, C>> = { ...normalParts<S, C>(command), ...viewChangeParts(log), ...recoveryParts(log) };
  return {
    size: (m) => 1 + partOf(table, m).size(m),
    write(w, m) {
      w.u8(VR_TYPES.indexOf(m.type));
      partOf(table, m).write(w, m);
    },
    read: (r) => readBody(r, table, VR_TYPES, r.u8('replication message type'), 'replication'),
  };
}
