import { hmacSha256, sha256 } from '../crypto/hash.js';
import type { SignatureBackend } from '../crypto/signature.js';
import { Writer } from '../runtime/wire.js';
import { encodeBlock, hotstuffCodec } from './codec.js';
import type { Block, Checkpoint, HsReply, NewView, Proposal, Qc, Vote } from './messages.js';

/** A replica's signing key and every replica's public key. */
export interface HotStuffKeys {
  secret: Uint8Array;
  publicKeys: Uint8Array[];
  backend: SignatureBackend;
}

export type VerifyKeys = Pick<HotStuffKeys, 'publicKeys' | 'backend'>;

/** Block hash = SHA-256 over the block's canonical encoding (docs/hotstuff.md#messages). */
export const blockHash = (b: Block): Uint8Array => sha256(encodeBlock(b));

const ZERO = new Uint8Array(32);
/** The root of every chain (view 0, height 0): committed by definition, justified by the empty genesis QC. */
export const GENESIS: Block = { view: 0, height: 0, parent: ZERO, justify: { view: 0, hash: ZERO, votes: [] }, batch: [] };
export const GENESIS_HASH = blockHash(GENESIS);
export const GENESIS_QC: Qc = { view: 0, hash: GENESIS_HASH, votes: [] };

/** What each kind of signature covers: a tag byte (so one kind can never pass for another), then the fields. */
function statement(tag: number, fields: (number | Uint8Array)[]): Uint8Array {
  const size = 1 + fields.reduce<number>((n, f) => n + (typeof f === 'number' ? 8 : f.length), 0);
  const w = new Writer(size).u8(tag);
  for (const f of fields) {
    if (typeof f === 'number') w.u64(f);
    else w.raw(f);
  }
  return sha256(w.done());
}

export const voteStatement = (view: number, hash: Uint8Array) => statement(1, [view, hash]);
export const proposalStatement = (hash: Uint8Array) => statement(2, [hash]);
const newViewStatement = (m: NewView) => statement(3, [m.view, m.replica, m.qc.view, m.qc.hash]);
const checkpointStatement = (c: Checkpoint) => statement(4, [c.height, c.batchHeight, c.replica, c.hash, c.digest]);

const verifyBy = (keys: VerifyKeys, replica: number, sig: Uint8Array, digest: Uint8Array): boolean => {
  const pub = keys.publicKeys[replica];
  return pub !== undefined && sig.length === 64 && keys.backend.verify(sig, digest, pub);
};

export const signVote = (view: number, replica: number, hash: Uint8Array, keys: HotStuffKeys): Vote =>
  ({ type: 'vote', view, replica, hash, sig: keys.backend.sign(voteStatement(view, hash), keys.secret) });
export const verifyVote = (m: Vote, keys: VerifyKeys) => verifyBy(keys, m.replica, m.sig, voteStatement(m.view, m.hash));

export const signProposal = (replica: number, block: Block, keys: HotStuffKeys): Proposal =>
  ({ type: 'proposal', replica, block, sig: keys.backend.sign(proposalStatement(blockHash(block)), keys.secret) });
export const verifyProposal = (m: Proposal, hash: Uint8Array, keys: VerifyKeys) => verifyBy(keys, m.replica, m.sig, proposalStatement(hash));

export const signNewView = (m: NewView, keys: HotStuffKeys): NewView => ({ ...m, sig: keys.backend.sign(newViewStatement(m), keys.secret) });
export const verifyNewView = (m: NewView, keys: VerifyKeys) => verifyBy(keys, m.replica, m.sig, newViewStatement(m));

export const signCheckpoint = (c: Checkpoint, keys: HotStuffKeys): Checkpoint => ({ ...c, sig: keys.backend.sign(checkpointStatement(c), keys.secret) });
export const verifyCheckpoint = (c: Checkpoint, keys: VerifyKeys) => verifyBy(keys, c.replica, c.sig, checkpointStatement(c));

/**
 * Whether `qc` is a quorum certificate: the genesis QC, or 2f+1 distinct replicas' valid
 * signatures over (view, hash).
 */
export function qcValid(qc: Qc, f: number, keys: VerifyKeys): boolean {
  if (qc.view === 0) return qc.votes.length === 0 && Buffer.from(qc.hash).equals(GENESIS_HASH);
  const voters = new Set(qc.votes.map((v) => v.replica));
  if (voters.size !== qc.votes.length || voters.size < 2 * f + 1) return false;
  const digest = voteStatement(qc.view, qc.hash);
  return qc.votes.every((v) => verifyBy(keys, v.replica, v.sig, digest));
}

/** HMAC-SHA256 under the client's key over the reply without its MAC. */
export function replyMac(r: HsReply, key: Uint8Array): Uint8Array {
  const b = hotstuffCodec.encode({ ...r, mac: new Uint8Array(32) });
  return hmacSha256(key, b.subarray(0, b.length - 32));
}
