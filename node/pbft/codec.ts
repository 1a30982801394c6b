import type { Codec } from '../runtime/core.js';
import { WireError } from '../runtime/core.js';
import { Reader, Writer } from '../runtime/wire.js';
import type { Checkpoint, PbftMsg, SlotClaim, ViewChange } from './messages.js';

export const PBFT_MAGIC = 0x50;
export const PBFT_TYPE = {
  request: 1, 'pre-prepare': 2, prepare: 3, commit: 4, reply: 5, checkpoint: 6, 'view-change': 7, 'new-view': 8, 'view-change-fetch': 9,
  'state-request': 10, 'state-reply': 11,
} as const;
const MAX_BATCH = 1024;
/** Bounds on what a VIEW-CHANGE or NEW-VIEW may claim to carry (the log window is far smaller). */
const MAX_CLAIMS = 1024;
const MAX_PROOF = 64;
const SIG = 64;
const CHECKPOINT = 8 + 1 + 32 + SIG;
const CLAIM = 8 + 4 + 32;

const batchSize = (batch: Uint8Array[]) => 2 + batch.reduce((n, b) => n + 4 + b.length, 0);

function size(m: PbftMsg): number {
  switch (m.type) {
    case 'request':
      return 4 + m.payload.length;
    case 'pre-prepare':
      return 4 + 8 + 1 + batchSize(m.batch) + 2 + m.auth.length;
    case 'prepare':
    case 'commit':
      return 4 + 8 + 1 + 32 + 1 + 2 + m.auth.length;
    case 'reply':
      return 4 + 1 + 2 + 8 + 2 + m.result.length + 32;
    case 'checkpoint':
      return CHECKPOINT;
    case 'view-change':
      return 4 + 1 + 1 + m.checkpoint.length * CHECKPOINT + 2 + m.prepared.length * CLAIM + 2 + m.prePrepared.length * CLAIM
        + 2 + m.batches.reduce((n, b) => n + batchSize(b), 0) + SIG;
    case 'new-view':
      return 4 + 1 + 1 + m.changes.length * 33 + SIG;
    case 'view-change-fetch':
      return 4 + 1 + 1;
    case 'state-request':
      return 8 + 1;
    case 'state-reply':
      return 8 + 1 + 1 + m.checkpoint.length * CHECKPOINT + 4 + m.snapshot.length;
  }
}

const writeBatch = (w: Writer, batch: Uint8Array[]) => {
  w.u16(batch.length);
  for (const b of batch) w.u32(b.length).raw(b);
};
const writeCheckpoint = (w: Writer, c: Checkpoint) => w.u64(c.seq).u8(c.replica).raw(c.digest).raw(c.sig);
const writeProof = (w: Writer, proof: Checkpoint[]) => {
  w.u8(proof.length);
  for (const c of proof) writeCheckpoint(w, c);
};
const writeClaims = (w: Writer, claims: SlotClaim[]) => {
  w.u16(claims.length);
  for (const c of claims) w.u64(c.seq).u32(c.view).raw(c.digest);
};

const copy = (r: Reader, n: number, what: string) => r.bytesOf(n, what).slice();
const count = (n: number, max: number, what: string) => {
  if (n > max) throw new WireError('bad-field', `${n} ${what} (at most ${max})`);
  return n;
};
const readBatch = (r: Reader) => Array.from({ length: count(r.u16('batch size'), MAX_BATCH, 'requests in a batch') }, () => copy(r, r.u32('request length'), 'request'));
const readCheckpoint = (r: Reader): Checkpoint => ({
  type: 'checkpoint', seq: r.u64('checkpoint sequence number'), replica: r.u8('checkpoint replica'), digest: copy(r, 32, 'state digest'), sig: copy(r, SIG, 'signature'),
});
const readProof = (r: Reader) => Array.from({ length: count(r.u8('checkpoint proof size'), MAX_PROOF, 'checkpoints') }, () => readCheckpoint(r));
const readClaims = (r: Reader, what: string): SlotClaim[] => Array.from({ length: count(r.u16(`${what} count`), MAX_CLAIMS, what) }, () => ({
  seq: r.u64(`${what} sequence number`), view: r.u32(`${what} view`), digest: copy(r, 32, `${what} digest`),
}));
function readViewChange(r: Reader): ViewChange {
  const view = r.u32('view');
  const replica = r.u8('replica');
  const checkpoint = readProof(r);
  const prepared = readClaims(r, 'prepared claim');
  const prePrepared = readClaims(r, 'pre-prepared claim');
  const batches = Array.from({ length: count(r.u16('batch count'), MAX_CLAIMS, 'batches') }, () => readBatch(r));
  return { type: 'view-change', view, replica, checkpoint, prepared, prePrepared, batches, sig: copy(r, SIG, 'signature') };
}

export const pbftCodec: Codec<PbftMsg> = {
  encode(m) {
    const w = new Writer(2 + size(m)).u8(PBFT_MAGIC).u8(PBFT_TYPE[m.type]);
    switch (m.type) {
      case 'request':
        w.u32(m.payload.length).raw(m.payload);
        break;
      case 'pre-prepare':
        w.u32(m.view).u64(m.seq).u8(m.replica);
        writeBatch(w, m.batch);
        w.u16(m.auth.length).raw(m.auth);
        break;
      case 'prepare':
      case 'commit':
        w.u32(m.view).u64(m.seq).u8(m.replica).raw(m.digest).u8(m.resent ? 1 : 0).u16(m.auth.length).raw(m.auth);
        break;
      case 'reply':
        w.u32(m.view).u8(m.replica).u16(m.client).u64(m.requestId).u16(m.result.length).raw(m.result).raw(m.mac);
        break;
      case 'checkpoint':
        writeCheckpoint(w, m);
        break;
      case 'view-change':
        w.u32(m.view).u8(m.replica);
        writeProof(w, m.checkpoint);
        writeClaims(w, m.prepared);
        writeClaims(w, m.prePrepared);
        w.u16(m.batches.length);
        for (const b of m.batches) writeBatch(w, b);
        w.raw(m.sig);
        break;
      case 'new-view':
        w.u32(m.view).u8(m.replica).u8(m.changes.length);
        for (const c of m.changes) w.u8(c.replica).raw(c.digest);
        w.raw(m.sig);
        break;
      case 'view-change-fetch':
        w.u32(m.view).u8(m.replica).u8(m.wanted);
        break;
      case 'state-request':
        w.u64(m.seq).u8(m.replica);
        break;
      case 'state-reply':
        w.u64(m.seq).u8(m.replica);
        writeProof(w, m.checkpoint);
        w.u32(m.snapshot.length).raw(m.snapshot);
    }
    return w.done();
  },
  decode(bytes) {
    const r = new Reader(bytes);
    const magic = r.u8('magic');
    if (magic !== PBFT_MAGIC) throw new WireError('bad-magic', `not a PBFT packet (first byte 0x${magic.toString(16)})`);
    const type = r.u8('type');
    let m: PbftMsg;
    switch (type) {
      case PBFT_TYPE.request:
        m = { type: 'request', payload: copy(r, r.u32('payload length'), 'payload') };
        break;
      case PBFT_TYPE['pre-prepare']: {
        const view = r.u32('view');
        const seq = r.u64('sequence number');
        const replica = r.u8('replica');
        m = { type: 'pre-prepare', view, seq, replica, batch: readBatch(r), auth: copy(r, r.u16('authenticator length'), 'authenticator') };
        break;
      }
      case PBFT_TYPE.prepare:
      case PBFT_TYPE.commit:
        m = {
          type: type === PBFT_TYPE.prepare ? 'prepare' : 'commit', view: r.u32('view'), seq: r.u64('sequence number'), replica: r.u8('replica'),
          digest: copy(r, 32, 'digest'), resent: r.u8('resent flag') === 1, auth: copy(r, r.u16('authenticator length'), 'authenticator'),
        };
        break;
      case PBFT_TYPE.reply:
        m = {
          type: 'reply', view: r.u32('view'), replica: r.u8('replica'), client: r.u16('client'), requestId: r.u64('request id'),
          result: copy(r, r.u16('result length'), 'result'), mac: copy(r, 32, 'MAC'),
        };
        break;
      case PBFT_TYPE.checkpoint:
        m = readCheckpoint(r);
        break;
      case PBFT_TYPE['view-change']:
        m = readViewChange(r);
        break;
      case PBFT_TYPE['new-view']: {
        const view = r.u32('view');
        const replica = r.u8('replica');
        const changes = Array.from({ length: count(r.u8('view-change count'), MAX_PROOF, 'view changes') }, () => ({
          replica: r.u8('view-change replica'), digest: copy(r, 32, 'view-change digest'),
        }));
        m = { type: 'new-view', view, replica, changes, sig: copy(r, SIG, 'signature') };
        break;
      }
      case PBFT_TYPE['view-change-fetch']:
        m = { type: 'view-change-fetch', view: r.u32('view'), replica: r.u8('replica'), wanted: r.u8('wanted replica') };
        break;
      case PBFT_TYPE['state-request']:
        m = { type: 'state-request', seq: r.u64('sequence number'), replica: r.u8('replica') };
        break;
      case PBFT_TYPE['state-reply']: {
        const seq = r.u64('sequence number');
        const replica = r.u8('replica');
        const cp = readProof(r);
        m = { type: 'state-reply', seq, replica, checkpoint: cp, snapshot: copy(r, r.u32('snapshot length'), 'snapshot') };
        break;
      }
      default:
        throw new WireError('unknown-type', `unknown PBFT message type ${type}`);
    }
    r.end(m.type);
    return m;
  },
};
