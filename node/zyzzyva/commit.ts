import { equalBytes } from '../crypto/bytes.js';
import { invariant } from '../protocol/invariant.js';
import { Votes } from '../protocol/quorum.js';
import type { Ctx } from '../runtime/core.js';
import { type VerifyKeys, localCommitMac, verifyResponse } from './auth.js';
import { EMPTY_HISTORY, type Commit, type LocalCommit, type SignedResponse, type ZyzzyvaMsg } from './messages.js';
import type { ZyzzyvaReplica } from './replica.js';

/** Whether two signed responses match (all but the signer, its signature and the view, docs/zyzzyva.md#two-phase-case). */
export const sameResponse = (a: SignedResponse, b: SignedResponse) => a.seq === b.seq && equalBytes(a.history, b.history)
  && equalBytes(a.resultDigest, b.resultDigest) && a.client === b.client && a.requestId === b.requestId;

/** A commit certificate: 2f+1 matching responses of distinct replicas under valid signatures (§3.3). */
export function validCertificate(cc: SignedResponse[], f: number, keys: VerifyKeys): boolean {
  const first = cc[0];
  if (!first) return false;
  const signers = new Votes(2 * f + 1);
  for (const s of cc) {
    if (!sameResponse(first, s) || signers.add(s.replica, true) === 'repeat' || !verifyResponse(s, keys)) return false;
  }
  return signers.reached;
}

/**
 * The two-phase case (docs/zyzzyva.md#two-phase-case; SOSP'07 §3.3): a client holding 2f+1
 * matching SPEC-RESPONSEs sends them as a commit certificate; a replica whose history holds the
 * certified h_n takes the certificate as its highest committed point and answers LOCAL-COMMIT.
 * A replica behind the certificate fills the hole first.
 */
export class CommitPhase {
  /** The highest commit certificate held (sequence number, history, certificate). */
  max: { seq: number; history: Uint8Array; cc: SignedResponse[] } = { seq: 0, history: EMPTY_HISTORY, cc: [] };

  constructor(private readonly r: ZyzzyvaReplica) {}

  onCommit(ctx: Ctx<ZyzzyvaMsg>, m: Commit): void {
    const r = this.r;
    const c = m.cc[0];
    if (!c || c.client !== m.client || c.requestId !== m.requestId || m.client >= r.p.clients || !validCertificate(m.cc, r.f, r.p.keys)) {
      return r.obs.invalid('bad-commit-certificate');
    }
    if (c.seq > r.history.top) return r.agreement.fillHole(ctx, c.seq);
    // Below the base the history is collected: the response we sent tells what we executed there.
    const held = r.history.historyAt(c.seq);
    if (held && !equalBytes(held, c.history)) return r.obs.invalid('conflicting-commit-certificate');
    if (held) this.advance(c.seq, c.history, m.cc);
    const sent = r.agreement.responseOf(c.client, c.requestId);
    if (!sent || sent.response.seq !== c.seq || !equalBytes(sent.response.history, c.history)) return;
    this.sendLocalCommit(ctx, c, c, sent.result);
  }

  /** LOCAL-COMMIT: the request is committed at `at` in our history, with `result`. */
  sendLocalCommit(ctx: Ctx<ZyzzyvaMsg>, q: { client: number; requestId: number }, at: { seq: number; history: Uint8Array }, result: Uint8Array): void {
    const r = this.r;
    const lc: LocalCommit = {
      type: 'local-commit', view: r.view, seq: at.seq, history: at.history, client: q.client, requestId: q.requestId, replica: r.me, result, mac: new Uint8Array(32),
    };
    lc.mac = localCommitMac(lc, r.p.clientKey(q.client));
    ctx.send(r.p.clientNode(q.client), lc);
  }

  /** A committed point (certificate or stable checkpoint) in the history held: the highest one only advances. */
  advance(seq: number, history: Uint8Array, cc: SignedResponse[]): void {
    invariant(this.r.history.matches(seq, history), 'committed-in-history', () => `committed ${seq} outside the history held`);
    if (seq <= this.max.seq) return;
    this.max = { seq, history, cc };
    this.r.obs.committed(seq);
  }

  /** The certificate as a VIEW-CHANGE carries it (only above the stable checkpoint). */
  certificateAbove(seq: number): SignedResponse[] {
    return this.max.seq > seq ? this.max.cc : [];
  }
}
