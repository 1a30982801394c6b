import { WireError } from '../runtime/core.js';
import type { Part, Reader, Writer } from '../runtime/wire.js';
import type { ConfigCommand, ConfigState, PlannedChange } from './config-state.js';
import type { ActiveSequencer, Config, FinalFlush, FlushState } from './messages.js';
import { MAX_SEQUENCERS } from './topology.js';

/** Field layouts shared by Hydra's datagrams and the configuration service's replicated state. */
const MAX_GROUPS = 32;

export const flushStateSize = (f: FlushState) => 4 + 2 + 8 + 1 + 8 * f.seqs.length;

export function writeFlushState(w: Writer, f: FlushState): void {
  w.u32(f.config).u16(f.sequencer).u64(f.clock).u8(f.seqs.length);
  for (const s of f.seqs) w.u64(s);
}

export function readSeqs(r: Reader, what: string): number[] {
  const n = r.u8(`${what} group count`);
  if (n > MAX_GROUPS) throw new WireError('bad-field', `${what} lists ${n} groups (max ${MAX_GROUPS})`);
  const seqs = new Array<number>(n);
  for (let i = 0; i < n; i++) seqs[i] = r.u64(`${what} sequence number`);
  return seqs;
}

export function readFlushState(r: Reader): FlushState {
  const config = r.u32('flush config');
  const sequencer = r.u16('flush sequencer');
  const clock = r.u64('flush clock');
  return { config, sequencer, clock, seqs: readSeqs(r, 'flush') };
}

/** A configuration's body (after Hydra's header). */
export const configPart: Part<Config> = {
  size: (c) => 4 + 1 + 22 * c.active.length + 1 + c.finals.reduce((n, f) => n + flushStateSize(f) + 4, 0),
  write(w, c) {
    w.u32(c.config).u8(c.active.length);
    for (const a of c.active) w.u16(a.sequencer).u32(a.joined).u64(a.start).u64(a.incarnation);
    w.u8(c.finals.length);
    for (const f of c.finals) {
      writeFlushState(w, f);
      w.u32(f.joined);
    }
  },
  read(r) {
    const config = r.u32('config');
    const na = r.u8('active count');
    const active: ActiveSequencer[] = [];
    for (let i = 0; i < na; i++) {
      active.push({ sequencer: r.u16('sequencer'), joined: r.u32('joined'), start: r.u64('start'), incarnation: r.u64('incarnation') });
    }
    const nf = r.u8('final count');
    const finals: FinalFlush[] = [];
    for (let i = 0; i < nf; i++) finals.push({ ...readFlushState(r), joined: r.u32('final joined') });
    return { type: 'config', config, active, finals };
  },
};

function readSequencer(r: Reader, what: string): number {
  const k = r.u16(what);
  if (k >= MAX_SEQUENCERS) throw new WireError('bad-field', `${what} ${k} is out of range (max ${MAX_SEQUENCERS - 1})`);
  return k;
}

const sequencersSize = (ks: number[]) => 1 + 2 * ks.length;

function writeSequencers(w: Writer, ks: number[]): void {
  w.u8(ks.length);
  for (const k of ks) w.u16(k);
}

function readSequencers(r: Reader): number[] {
  const n = r.u8('sequencer count');
  if (n > MAX_SEQUENCERS) throw new WireError('bad-field', `${n} sequencers (max ${MAX_SEQUENCERS})`);
  return Array.from({ length: n }, () => readSequencer(r, 'sequencer'));
}

const CHANGE_SIZE = 1 + 2 + 8 + 4;

function writeChange(w: Writer, c: PlannedChange): void {
  w.u8(c.kind === 'add' ? 1 : 0).u16(c.sequencer).u64(c.incarnation).u32(c.newConfig);
}

function readChange(r: Reader): PlannedChange {
  const kind = r.u8('change kind');
  if (kind > 1) throw new WireError('bad-field', `unknown configuration change kind ${kind}`);
  return { kind: kind === 1 ? 'add' : 'remove', sequencer: readSequencer(r, 'changed sequencer'), incarnation: r.u64('incarnation'), newConfig: r.u32('new config') };
}

export const configStatePart: Part<ConfigState> = {
  size: (s) => configPart.size(s.config) + sequencersSize(s.desired) + 8 + 1 + (s.change ? CHANGE_SIZE : 0),
  write(w, s) {
    configPart.write(w, s.config);
    writeSequencers(w, s.desired);
    w.u64(s.desiredAt).u8(s.change ? 1 : 0);
    if (s.change) writeChange(w, s.change);
  },
  read(r) {
    const config = configPart.read(r);
    const desired = readSequencers(r);
    const desiredAt = r.u64('desired at');
    const has = r.u8('change flag');
    if (has > 1) throw new WireError('bad-field', `change flag ${has}`);
    return { config, desired, desiredAt, change: has ? readChange(r) : null };
  },
};

const COMMANDS = ['desire', 'admit', 'begin', 'removed', 'added', 'aborted'] as const;

export const configCommandPart: Part<ConfigCommand> = {
  size(c) {
    switch (c.kind) {
      case 'desire': return 1 + sequencersSize(c.sequencers) + 8;
      case 'admit': return 1 + 2 + 8;
      case 'begin': return 1 + CHANGE_SIZE;
      case 'removed': return 1 + 4 + flushStateSize(c.final);
      case 'added': return 1 + 4 + 8;
      case 'aborted': return 1 + 4;
    }
  },
  write(w, c) {
    w.u8(COMMANDS.indexOf(c.kind));
    switch (c.kind) {
      case 'desire':
        writeSequencers(w, c.sequencers);
        w.u64(c.at);
        return;
      case 'admit':
        w.u16(c.sequencer).u64(c.incarnation);
        return;
      case 'begin':
        writeChange(w, c.change);
        return;
      case 'removed':
        w.u32(c.newConfig);
        writeFlushState(w, c.final);
        return;
      case 'added':
        w.u32(c.newConfig).u64(c.start);
        return;
      case 'aborted':
        w.u32(c.newConfig);
    }
  },
  read(r) {
    const tag = r.u8('command kind');
    switch (COMMANDS[tag]) {
      case 'desire': return { kind: 'desire', sequencers: readSequencers(r), at: r.u64('desired at') };
      case 'admit': return { kind: 'admit', sequencer: readSequencer(r, 'admitted sequencer'), incarnation: r.u64('incarnation') };
      case 'begin': return { kind: 'begin', change: readChange(r) };
      case 'removed': return { kind: 'removed', newConfig: r.u32('new config'), final: readFlushState(r) };
      case 'added': return { kind: 'added', newConfig: r.u32('new config'), start: r.u64('start') };
      case 'aborted': return { kind: 'aborted', newConfig: r.u32('new config') };
      default: throw new WireError('unknown-type', `unknown configuration command ${tag}`);
    }
  },
};
