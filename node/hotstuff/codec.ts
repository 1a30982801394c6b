import { type Codec, WireError } from '../runtime/core.js';
import { type Part, type PartTable, Reader, Writer, namesOf, partOf, readBody } from '../runtime/wire.js';
import type { Block, Checkpoint, HotStuffMsg, Qc } from './messages.js';

export const HOTSTUFF_MAGIC = 0x53;
export const HOTSTUFF_TYPE = {
  request: 1, proposal: 2, vote: 3, 'new-view': 4, reply: 5, 'block-fetch': 6, 'block-reply': 7, checkpoint: 8, 'state-request': 9, 'state-reply': 10,
} as const;
const NAMES = namesOf(HOTSTUFF_TYPE);

const SIG = 64;
const HASH = 32;
/** Bounds on counts a packet may claim (a QC holds at most n votes, a block at most maxBatch requests). */
const MAX_VOTES = 64;
const MAX_BATCH = 1024;
const CHECKPOINT = 8 + 8 + 1 + HASH + HASH + SIG;

const bytes = (r: Reader, n: number, what: string) => r.bytesOf(n, what).slice();
function bounded(n: number, max: number, what: string): number {
  if (n > max) throw new WireError('bad-field', `${n} ${what} (at most ${max})`);
  return n;
}

const qcSize = (qc: Qc) => 4 + HASH + 1 + qc.votes.length * (1 + SIG);
function writeQc(w: Writer, qc: Qc): void {
  w.u32(qc.view).raw(qc.hash).u8(qc.votes.length);
  for (const v of qc.votes) w.u8(v.replica).raw(v.sig);
}
function readQc(r: Reader): Qc {
  const view = r.u32('QC view');
  const hash = bytes(r, HASH, 'QC block hash');
  const votes = Array.from({ length: bounded(r.u8('QC vote count'), MAX_VOTES, 'votes in a QC') }, () => ({ replica: r.u8('QC voter'), sig: bytes(r, SIG, 'QC signature') }));
  return { view, hash, votes };
}

export const blockSize = (b: Block) => 4 + 8 + HASH + qcSize(b.justify) + 2 + b.batch.reduce((n, q) => n + 4 + q.length, 0);
export function writeBlock(w: Writer, b: Block): void {
  w.u32(b.view).u64(b.height).raw(b.parent);
  writeQc(w, b.justify);
  w.u16(b.batch.length);
  for (const q of b.batch) w.u32(q.length).raw(q);
}
function readBlock(r: Reader): Block {
  const view = r.u32('block view');
  const height = r.u64('block height');
  const parent = bytes(r, HASH, 'parent hash');
  const justify = readQc(r);
  const batch = Array.from({ length: bounded(r.u16('batch size'), MAX_BATCH, 'requests in a block') }, () => bytes(r, r.u32('request length'), 'request'));
  return { view, height, parent, justify, batch };
}

/** The canonical encoding of a block: what its hash covers. */
export function encodeBlock(b: Block): Uint8Array {
  const w = new Writer(blockSize(b));
  writeBlock(w, b);
  return w.done();
}

const writeCheckpoint = (w: Writer, c: Checkpoint) => w.u64(c.height).u64(c.batchHeight).u8(c.replica).raw(c.hash).raw(c.digest).raw(c.sig);
const readCheckpoint = (r: Reader): Checkpoint => ({
  type: 'checkpoint', height: r.u64('checkpoint height'), batchHeight: r.u64('checkpoint batch height'), replica: r.u8('checkpoint replica'), hash: bytes(r, HASH, 'checkpoint block hash'),
  digest: bytes(r, HASH, 'state digest'), sig: bytes(r, SIG, 'checkpoint signature'),
});

const PARTS: PartTable<HotStuffMsg> = {
  request: {
    size: (m) => 4 + m.payload.length,
    write: (w, m) => w.u32(m.payload.length).raw(m.payload),
    read: (r) => ({ type: 'request', payload: bytes(r, r.u32('payload length'), 'payload') }),
  },
  proposal: {
    size: (m) => 1 + blockSize(m.block) + SIG,
    write: (w, m) => {
      writeBlock(w.u8(m.replica), m.block);
      w.raw(m.sig);
    },
    read: (r) => ({ type: 'proposal', replica: r.u8('replica'), block: readBlock(r), sig: bytes(r, SIG, 'signature') }),
  },
  vote: {
    size: () => 4 + 1 + HASH + SIG,
    write: (w, m) => w.u32(m.view).u8(m.replica).raw(m.hash).raw(m.sig),
    read: (r) => ({ type: 'vote', view: r.u32('view'), replica: r.u8('replica'), hash: bytes(r, HASH, 'block hash'), sig: bytes(r, SIG, 'signature') }),
  },
  'new-view': {
    size: (m) => 4 + 1 + qcSize(m.qc) + SIG,
    write: (w, m) => {
      writeQc(w.u32(m.view).u8(m.replica), m.qc);
      w.raw(m.sig);
    },
    read: (r) => ({ type: 'new-view', view: r.u32('view'), replica: r.u8('replica'), qc: readQc(r), sig: bytes(r, SIG, 'signature') }),
  },
  reply: {
    size: (m) => 4 + 1 + 2 + 8 + 2 + m.result.length + 32,
    write: (w, m) => w.u32(m.view).u8(m.replica).u16(m.client).u64(m.requestId).u16(m.result.length).raw(m.result).raw(m.mac),
    read: (r) => ({
      type: 'reply', view: r.u32('view'), replica: r.u8('replica'), client: r.u16('client'), requestId: r.u64('request id'),
      result: bytes(r, r.u16('result length'), 'result'), mac: bytes(r, 32, 'MAC'),
    }),
  },
  'block-fetch': {
    size: () => 1 + HASH + 8,
    write: (w, m) => w.u8(m.replica).raw(m.hash).u64(m.committed),
    read: (r) => ({ type: 'block-fetch', replica: r.u8('replica'), hash: bytes(r, HASH, 'block hash'), committed: r.u64('committed height') }),
  },
  'block-reply': {
    size: (m) => 1 + blockSize(m.block),
    write: (w, m) => writeBlock(w.u8(m.replica), m.block),
    read: (r) => ({ type: 'block-reply', replica: r.u8('replica'), block: readBlock(r) }),
  },
  checkpoint: { size: () => CHECKPOINT, write: writeCheckpoint, read: readCheckpoint },
  'state-request': {
    size: () => 8 + 1,
    write: (w, m) => w.u64(m.committed).u8(m.replica),
    read: (r) => ({ type: 'state-request', committed: r.u64('committed height'), replica: r.u8('replica') }),
  },
  'state-reply': {
    size: (m) => 1 + blockSize(m.block) + 1 + m.proof.length * CHECKPOINT + 4 + m.snapshot.length,
    write: (w, m) => {
      writeBlock(w.u8(m.replica), m.block);
      w.u8(m.proof.length);
      for (const c of m.proof) writeCheckpoint(w, c);
      w.u32(m.snapshot.length).raw(m.snapshot);
    },
    read: (r) => {
      const replica = r.u8('replica');
      const block = readBlock(r);
      const proof = Array.from({ length: bounded(r.u8('checkpoint count'), MAX_VOTES, 'checkpoints') }, () => readCheckpoint(r));
      return { type: 'state-reply', replica, block, proof, snapshot: bytes(r, r.u32('snapshot length'), 'snapshot') };
    },
  },
};

const part = (m: HotStuffMsg): Part<HotStuffMsg> => partOf(PARTS, m);

export const hotstuffCodec: Codec<HotStuffMsg> = {
  encode(m) {
    const w = new Writer(2 + part(m).size(m)).u8(HOTSTUFF_MAGIC).u8(HOTSTUFF_TYPE[m.type]);
    part(m).write(w, m);
    return w.done();
  },
  decode(b) {
    const r = new Reader(b);
    const magic = r.u8('magic');
    if (magic !== HOTSTUFF_MAGIC) throw new WireError('bad-magic', `not a HotStuff packet (first byte 0x${magic.toString(16)})`);
    const m = readBody(r, PARTS, NAMES, r.u8('type'), 'HotStuff');
    r.end(m.type);
    return m;
  },
};
