import { WireError } from '../runtime/core.js';
import { type Part, type PartTable, type Reader, type Writer, namesOf, partOf, readBody } from '../runtime/wire.js';
import { AOM_TYPE, aomSize, readAom, writeAom } from './aom-codec.js';
import type { AomSign, OrderedMulticast } from './aom-messages.js';
import type { Confirm, GapDrop, GapVote, LogEntry, ProtocolMsg, Sync, View } from './protocol-messages.js';

export const PROTOCOL_TYPE = {
  reply: 10, query: 11, 'query-reply': 12, 'gap-find': 13, 'gap-recv': 14, 'gap-drop': 15, 'gap-decision': 16,
  'gap-prepare': 17, 'gap-commit': 18, 'direct-request': 19, confirm: 20, sync: 21, 'view-change': 22, 'view-start': 23,
  'view-change-fetch': 24, 'state-request': 25, 'state-reply': 26, recovery: 27, 'recovery-reply': 28,
} as const;

const VIEW = 4 + 4;
const SLOT = 8;
const SIG = 64;
const MAX_DROPS = 64;
/** Bounds on what a VIEW-CHANGE may claim to carry (a log window is far smaller). */
const MAX_ENTRIES = 4096;
const MAX_CERT = 64;

const ocSize = (oc: OrderedMulticast) => aomSize(oc);
const dropSize = VIEW + 1 + SLOT + SIG;
const VOTE = VIEW + 1 + SLOT + 32 + SIG;
const CONFIRM = VIEW + 1 + SLOT + 32 + 1 + SIG;
const SYNC = VIEW + 1 + SLOT + 32 + 32 + SLOT + 1 + SIG;

function entrySize(e: LogEntry): number {
  return 1 + SLOT + 1 + (e.kind === 'message' ? ocSize(e.oc) + e.confirms.length * CONFIRM : e.commits.length * VOTE);
}

const writeView = (w: Writer, v: View) => w.u32(v.epoch).u32(v.leader);

const writeVote = (w: Writer, v: GapVote) => {
  writeView(w, v.view);
  w.u8(v.replica).u64(v.slot).raw(v.digest).raw(v.sig);
};
const writeConfirm = (w: Writer, c: Confirm) => {
  writeView(w, c.view);
  w.u8(c.replica).u64(c.slot).raw(c.digest).u8(c.need ? 1 : 0).raw(c.sig);
};
const writeSync = (w: Writer, m: Sync) => {
  writeView(w, m.view);
  w.u8(m.replica).u64(m.slot).raw(m.logHash).raw(m.stateDigest).u64(m.epochStart).u8(m.resent ? 1 : 0).raw(m.sig);
};

function writeEntry(w: Writer, e: LogEntry): void {
  w.u8(e.kind === 'message' ? 0 : 1).u64(e.slot);
  if (e.kind === 'message') {
    writeAom(w, e.oc);
    w.u8(e.confirms.length);
    for (const c of e.confirms) writeConfirm(w, c);
  } else {
    w.u8(e.commits.length);
    for (const v of e.commits) writeVote(w, v);
  }
}

function writeDrop(w: Writer, d: Omit<GapDrop, 'type'>): void {
  writeView(w, d.view);
  w.u8(d.replica).u64(d.slot).raw(d.sig);
}

const copy = (r: Reader, n: number, what: string) => r.bytesOf(n, what).slice();
const readView = (r: Reader): View => ({ epoch: r.u32('epoch'), leader: r.u32('leader') });

function readVote(r: Reader, type: 'gap-prepare' | 'gap-commit'): GapVote {
  return { type, view: readView(r), replica: r.u8('replica'), slot: r.u64('slot'), digest: copy(r, 32, 'digest'), sig: copy(r, SIG, 'signature') };
}

function readConfirm(r: Reader): Confirm {
  return {
    type: 'confirm', view: readView(r), replica: r.u8('replica'), slot: r.u64('slot'), digest: copy(r, 32, 'digest'),
    need: r.u8('need flag') === 1, sig: copy(r, SIG, 'signature'),
  };
}

function readSync(r: Reader): Sync {
  return {
    type: 'sync', view: readView(r), replica: r.u8('replica'), slot: r.u64('slot'), logHash: copy(r, 32, 'log hash'),
    stateDigest: copy(r, 32, 'state digest'), epochStart: r.u64('epoch start'), resent: r.u8('resent flag') === 1, sig: copy(r, SIG, 'signature'),
  };
}

function count(r: Reader, what: string, max: number, read: (r: Reader) => number = (x) => x.u8(what)): number {
  const n = read(r);
  if (n > max) throw new WireError('bad-field', `${n} ${what}s (at most ${max})`);
  return n;
}

function readEntry(r: Reader): LogEntry {
  const kind = r.u8('entry kind');
  const slot = r.u64('slot');
  if (kind === 0) {
    const oc = readOc(r);
    return { kind: 'message', slot, oc, confirms: Array.from({ length: count(r, 'confirm', MAX_CERT) }, () => readConfirm(r)) };
  }
  if (kind !== 1) throw new WireError('bad-field', `entry kind ${kind}`);
  return { kind: 'no-op', slot, commits: Array.from({ length: count(r, 'commit', MAX_CERT) }, () => readVote(r, 'gap-commit')) };
}

function readOc(r: Reader): OrderedMulticast {
  const m = readAom(r, AOM_TYPE.multicast);
  if (m.type !== 'aom') throw new WireError('bad-field', 'expected an ordered multicast');
  return m;
}

function readDrop<T extends 'gap-find' | 'gap-drop'>(r: Reader, type: T): { type: T } & Omit<GapDrop, 'type'> {
  return { type, view: readView(r), replica: r.u8('replica'), slot: r.u64('slot'), sig: copy(r, SIG, 'signature') };
}

type Body<T extends ProtocolMsg['type']> = Part<Extract<ProtocolMsg, { type: T }>>;

const reply: Body<'reply'> = {
  size: (m) => VIEW + 1 + SLOT + 32 + 2 + 8 + 2 + m.result.length + 32,
  write(w, m) {
    writeView(w, m.view);
    w.u8(m.replica).u64(m.slot).raw(m.logHash).u16(m.client).u64(m.requestId).u16(m.result.length).raw(m.result).raw(m.mac);
  },
  read(r) {
    const view = readView(r);
    const replica = r.u8('replica');
    const slot = r.u64('slot');
    const logHash = copy(r, 32, 'log hash');
    const client = r.u16('client');
    const requestId = r.u64('request id');
    const result = copy(r, r.u16('result length'), 'result');
    return { type: 'reply', view, replica, slot, logHash, client, requestId, result, mac: copy(r, 32, 'MAC') };
  },
};

const query: Body<'query'> = {
  size: () => VIEW + 1 + SLOT,
  write(w, m) {
    writeView(w, m.view);
    w.u8(m.replica).u64(m.slot);
  },
  read: (r) => ({ type: 'query', view: readView(r), replica: r.u8('replica'), slot: r.u64('slot') }),
};

const queryReply: Body<'query-reply'> = {
  size: (m) => VIEW + SLOT + ocSize(m.oc),
  write(w, m) {
    writeView(w, m.view);
    w.u64(m.slot);
    writeAom(w, m.oc);
  },
  read: (r) => ({ type: 'query-reply', view: readView(r), slot: r.u64('slot'), oc: readOc(r) }),
};

/** GAP-FIND and GAP-DROP: one layout. */
function dropPart<T extends 'gap-find' | 'gap-drop'>(type: T): Part<{ type: T } & Omit<GapDrop, 'type'>> {
  return { size: () => dropSize, write: writeDrop, read: (r) => readDrop(r, type) };
}

const gapRecv: Body<'gap-recv'> = {
  size: (m) => VIEW + 1 + SLOT + ocSize(m.oc),
  write(w, m) {
    writeView(w, m.view);
    w.u8(m.replica).u64(m.slot);
    writeAom(w, m.oc);
  },
  read: (r) => ({ type: 'gap-recv', view: readView(r), replica: r.u8('replica'), slot: r.u64('slot'), oc: readOc(r) }),
};

const gapDecision: Body<'gap-decision'> = {
  size: (m) => VIEW + 1 + SLOT + 1 + (m.recv ? ocSize(m.recv) : 0) + 1 + m.drops.length * dropSize + SIG,
  write(w, m) {
    writeView(w, m.view);
    w.u8(m.replica).u64(m.slot).u8(m.recv ? 1 : 0);
    if (m.recv) writeAom(w, m.recv);
    w.u8(m.drops.length);
    for (const d of m.drops) writeDrop(w, d);
    w.raw(m.sig);
  },
  read(r) {
    const view = readView(r);
    const replica = r.u8('replica');
    const slot = r.u64('slot');
    const hasRecv = r.u8('decision kind');
    if (hasRecv > 1) throw new WireError('bad-field', `decision kind ${hasRecv}`);
    const recv = hasRecv ? readOc(r) : null;
    const n = r.u8('drop count');
    if (n > MAX_DROPS) throw new WireError('bad-field', `${n} drops`);
    const drops = Array.from({ length: n }, () => readDrop(r, 'gap-drop'));
    return { type: 'gap-decision', view, replica, slot, recv, drops, sig: copy(r, SIG, 'signature') };
  },
};

/** GAP-PREPARE and GAP-COMMIT: one layout. */
const votePart = (type: GapVote['type']): Part<GapVote> => ({ size: () => VOTE, write: writeVote, read: (r) => readVote(r, type) });

const viewChange: Body<'view-change'> = {
  size: (m) => VIEW + 1 + 1 + m.cert.length * SYNC + 32 + 4 + m.entries.reduce((n, e) => n + entrySize(e), 0) + 1
    + (m.tailSign ? aomSize(m.tailSign) : 0) + SIG,
  write(w, m) {
    writeView(w, m.view);
    writeCert(w.u8(m.replica), m.cert);
    w.raw(m.base).u32(m.entries.length);
    for (const e of m.entries) writeEntry(w, e);
    w.u8(m.tailSign ? 1 : 0);
    if (m.tailSign) writeAom(w, m.tailSign);
    w.raw(m.sig);
  },
  read(r) {
    const view = readView(r);
    const replica = r.u8('replica');
    const cert = readCert(r);
    const base = copy(r, 32, 'base hash');
    const entries = Array.from({ length: count(r, 'log entry', MAX_ENTRIES, (x) => x.u32('entry count')) }, () => readEntry(r));
    return { type: 'view-change', view, replica, cert, base, entries, tailSign: readTailSign(r), sig: copy(r, SIG, 'signature') };
  },
};

function readTailSign(r: Reader): AomSign | null {
  const hasTail = r.u8('tail signature flag');
  if (hasTail > 1) throw new WireError('bad-field', `tail signature flag ${hasTail}`);
  if (!hasTail) return null;
  const t = readAom(r, AOM_TYPE.sign);
  if (t.type !== 'aom-sign') throw new WireError('bad-field', 'expected an AOM signature');
  return t;
}

const readCert = (r: Reader) => Array.from({ length: count(r, 'certificate SYNC', MAX_CERT) }, () => readSync(r));

function writeCert(w: Writer, cert: Sync[]): void {
  w.u8(cert.length);
  for (const c of cert) writeSync(w, c);
}

const viewStart: Body<'view-start'> = {
  size: (m) => VIEW + 1 + 1 + m.refs.length * (1 + 32) + SIG,
  write(w, m) {
    writeView(w, m.view);
    w.u8(m.replica).u8(m.refs.length);
    for (const ref of m.refs) w.u8(ref.replica).raw(ref.digest);
    w.raw(m.sig);
  },
  read(r) {
    const view = readView(r);
    const replica = r.u8('replica');
    const refs = Array.from({ length: count(r, 'reference', MAX_CERT) }, () => ({ replica: r.u8('replica'), digest: copy(r, 32, 'digest') }));
    return { type: 'view-start', view, replica, refs, sig: copy(r, SIG, 'signature') };
  },
};

const viewChangeFetch: Body<'view-change-fetch'> = {
  size: () => VIEW + 1 + 1,
  write(w, m) {
    writeView(w, m.view);
    w.u8(m.replica).u8(m.of);
  },
  read: (r) => ({ type: 'view-change-fetch', view: readView(r), replica: r.u8('replica'), of: r.u8('replica') }),
};

const directRequest: Body<'direct-request'> = {
  size: (m) => 4 + m.payload.length,
  write: (w, m) => w.u32(m.payload.length).raw(m.payload),
  read: (r) => ({ type: 'direct-request', payload: copy(r, r.u32('payload length'), 'payload') }),
};

const stateRequest: Body<'state-request'> = {
  size: () => 1 + SLOT,
  write: (w, m) => w.u8(m.replica).u64(m.executed),
  read: (r) => ({ type: 'state-request', replica: r.u8('replica'), executed: r.u64('executed') }),
};

const stateReply: Body<'state-reply'> = {
  size: (m) => 1 + 1 + m.cert.length * SYNC + 4 + m.snapshot.length,
  write(w, m) {
    writeCert(w.u8(m.replica), m.cert);
    w.u32(m.snapshot.length).raw(m.snapshot);
  },
  read(r) {
    const replica = r.u8('replica');
    const cert = readCert(r);
    return { type: 'state-reply', replica, cert, snapshot: copy(r, r.u32('snapshot length'), 'snapshot') };
  },
};

const recovery: Body<'recovery'> = {
  size: () => 1 + SLOT,
  write: (w, m) => w.u8(m.replica).u64(m.nonce),
  read: (r) => ({ type: 'recovery', replica: r.u8('replica'), nonce: r.u64('nonce') }),
};

const recoveryReply: Body<'recovery-reply'> = {
  size: (m) => VIEW + 1 + SLOT + SLOT + 1 + m.cert.length * SYNC + SIG,
  write(w, m) {
    writeView(w, m.view);
    writeCert(w.u8(m.replica).u64(m.nonce).u64(m.executed), m.cert);
    w.raw(m.sig);
  },
  read: (r) => ({
    type: 'recovery-reply', view: readView(r), replica: r.u8('replica'), nonce: r.u64('nonce'), executed: r.u64('executed'), cert: readCert(r),
    sig: copy(r, SIG, 'signature'),
  }),
};

/** Each protocol message's body, after the magic and type bytes. */
const PROTOCOL: PartTable<ProtocolMsg> = {
  reply, query, 'query-reply': queryReply, 'gap-find': dropPart('gap-find'), 'gap-recv': gapRecv, 'gap-drop': dropPart('gap-drop'),
  'gap-decision': gapDecision, 'gap-prepare': votePart('gap-prepare'), 'gap-commit': votePart('gap-commit'),
  'direct-request': directRequest, confirm: { size: () => CONFIRM, write: writeConfirm, read: readConfirm },
  sync: { size: () => SYNC, write: writeSync, read: readSync }, 'view-change': viewChange, 'view-start': viewStart,
  'view-change-fetch': viewChangeFetch, 'state-request': stateRequest, 'state-reply': stateReply, recovery, 'recovery-reply': recoveryReply,
};
const NAMES = namesOf(PROTOCOL_TYPE);

export const protocolSize = (m: ProtocolMsg): number => partOf(PROTOCOL, m).size(m);
export const writeProtocol = (w: Writer, m: ProtocolMsg): void => partOf(PROTOCOL, m).write(w, m);
export const readProtocol = (r: Reader, type: number): ProtocolMsg => readBody(r, PROTOCOL, NAMES, type, 'BFTCluster');
