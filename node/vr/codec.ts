import { WireError } from '../runtime/core.js';
import { type Reader, Writer } from '../runtime/wire.js';
import { VR_TYPES, type VrLog, type VrMsg } from './messages.js';

/** How one kind of value (a state, a command) is sized, written and read inside a datagram. */
export interface Part<X> {
  size(x: X): number;
  write(w: Writer, x: X): void;
  /** Throws WireError on a malformed or out-of-range value. */
  read(r: Reader): X;
}

/** A value's bytes as hex: equal values give equal strings (what the simulation's checkers compare). */
export function partHex<X>(part: Part<X>, x: X): string {
  const w = new Writer(part.size(x));
  part.write(w, x);
  return Buffer.from(w.done()).toString('hex');
}

/** Uncommitted ops a log may carry: a primary proposes far fewer at a time. */
const MAX_OPS = 1000;
const MAX_REPLICAS = 255;

/**
 * Viewstamped Replication messages inside a host protocol's datagrams: the host writes its own
 * header, then a VR type byte (the index in VR_TYPES) and the fields below; states and commands
 * are the host's `Part`s.
 */
export function vrWire<S, C>(state: Part<S>, command: Part<C>) {
  const logSize = (l: VrLog<S, C>) => 4 + state.size(l.state) + 2 + l.ops.reduce((n, c) => n + command.size(c), 0);
  const writeLog = (w: Writer, l: VrLog<S, C>) => {
    w.u32(l.commit);
    state.write(w, l.state);
    w.u16(l.ops.length);
    for (const c of l.ops) command.write(w, c);
  };
  const readLog = (r: Reader): VrLog<S, C> => {
    const commit = r.u32('commit-number');
    const s = state.read(r);
    const n = r.u16('op count');
    if (n > MAX_OPS) throw new WireError('bad-field', `a log of ${n} uncommitted ops (max ${MAX_OPS})`);
    const ops: C[] = [];
    for (let i = 0; i < n; i++) ops.push(command.read(r));
    return { commit, state: s, ops };
  };
  const replica = (r: Reader) => {
    const i = r.u8('replica');
    if (i >= MAX_REPLICAS) throw new WireError('bad-field', `replica number ${i}`);
    return i;
  };

  return {
    size(m: VrMsg<S, C>): number {
      switch (m.type) {
        case 'vr-prepare': return 1 + 4 + 4 + command.size(m.command) + 4;
        case 'vr-prepare-ok': return 1 + 4 + 4 + 1;
        case 'vr-commit': return 1 + 4 + 4;
        case 'vr-start-view-change': return 1 + 4 + 1;
        case 'vr-do-view-change': return 1 + 4 + 4 + logSize(m.log) + 1;
        case 'vr-start-view':
        case 'vr-new-state': return 1 + 4 + logSize(m.log);
        case 'vr-recovery': return 1 + 1 + 8;
        case 'vr-recovery-response': return 1 + 4 + 8 + 1 + 1 + (m.log ? logSize(m.log) : 0);
        case 'vr-get-state': return 1 + 4 + 4 + 1;
        case 'vr-request': return 1 + command.size(m.command);
      }
    },

    write(w: Writer, m: VrMsg<S, C>): void {
      w.u8(VR_TYPES.indexOf(m.type));
      switch (m.type) {
        case 'vr-prepare':
          w.u32(m.view).u32(m.op);
          command.write(w, m.command);
          w.u32(m.commit);
          return;
        case 'vr-prepare-ok':
          w.u32(m.view).u32(m.op).u8(m.replica);
          return;
        case 'vr-commit':
          w.u32(m.view).u32(m.commit);
          return;
        case 'vr-start-view-change':
          w.u32(m.view).u8(m.replica);
          return;
        case 'vr-do-view-change':
          w.u32(m.view).u32(m.lastNormal);
          writeLog(w, m.log);
          w.u8(m.replica);
          return;
        case 'vr-start-view':
        case 'vr-new-state':
          w.u32(m.view);
          writeLog(w, m.log);
          return;
        case 'vr-recovery':
          w.u8(m.replica).u64(m.nonce);
          return;
        case 'vr-recovery-response':
          w.u32(m.view).u64(m.nonce).u8(m.replica).u8((m.recovering ? 1 : 0) | (m.log ? 2 : 0));
          if (m.log) writeLog(w, m.log);
          return;
        case 'vr-get-state':
          w.u32(m.view).u32(m.op).u8(m.replica);
          return;
        case 'vr-request':
          command.write(w, m.command);
      }
    },

    read(r: Reader): VrMsg<S, C> {
      const tag = r.u8('replication message type');
      const type = VR_TYPES[tag];
      switch (type) {
        case 'vr-prepare': {
          const view = r.u32('view');
          const op = r.u32('op-number');
          const c = command.read(r);
          return { type, view, op, command: c, commit: r.u32('commit-number') };
        }
        case 'vr-prepare-ok':
          return { type, view: r.u32('view'), op: r.u32('op-number'), replica: replica(r) };
        case 'vr-commit':
          return { type, view: r.u32('view'), commit: r.u32('commit-number') };
        case 'vr-start-view-change':
          return { type, view: r.u32('view'), replica: replica(r) };
        case 'vr-do-view-change': {
          const view = r.u32('view');
          const lastNormal = r.u32('last normal view');
          const log = readLog(r);
          return { type, view, lastNormal, log, replica: replica(r) };
        }
        case 'vr-start-view':
        case 'vr-new-state':
          return { type, view: r.u32('view'), log: readLog(r) };
        case 'vr-recovery':
          return { type, replica: replica(r), nonce: r.u64('nonce') };
        case 'vr-recovery-response': {
          const view = r.u32('view');
          const nonce = r.u64('nonce');
          const from = replica(r);
          const flags = r.u8('flags');
          if (flags > 3) throw new WireError('bad-field', `recovery response flags 0x${flags.toString(16)}`);
          return { type, view, nonce, replica: from, recovering: (flags & 1) === 1, log: flags & 2 ? readLog(r) : null };
        }
        case 'vr-get-state':
          return { type, view: r.u32('view'), op: r.u32('op-number'), replica: replica(r) };
        case 'vr-request':
          return { type, command: command.read(r) };
        default:
          throw new WireError('unknown-type', `unknown replication message type ${tag}`);
      }
    },
  };
}
