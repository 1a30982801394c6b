import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hmacSha256, sha256 as hotSha256 } from '../../node/crypto/hash.js';
import { halfSipHash32Words, halfSipKey, toWords } from '../../node/crypto/halfsiphash.js';
import { MacVectorKeys } from '../../node/crypto/macvector.js';
import { allBackends, hotPathBackend, nativeBackend, newSecretKey } from '../../node/crypto/signature.js';
import type { BenchOptions, BenchResult } from '../support/types.js';

const C_SOURCE = new URL('../../../bench/crypto/halfsiphash.c', import.meta.url).pathname;

/** Runs `batch` (which does `n` operations) until `ms` have passed; operations per second. */
function rate(n: number, batch: () => void, ms: number): number {
  batch(); // warm up
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    batch();
    ops += n;
    t = performance.now();
  }
  return ops / ((t - t0) / 1000);
}

/** The C baseline, built from bench/crypto/halfsiphash.c with the machine's gcc -O2. */
function cHalfSipHash(inputBytes: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-hsip-'));
  const bin = join(dir, 'halfsiphash');
  execFileSync('gcc', ['-O2', '-o', bin, C_SOURCE]);
  let best = 0;
  for (let i = 0; i < 3; i++) best = Math.max(best, JSON.parse(execFileSync(bin, [String(inputBytes), '30000000']).toString()).macs_per_s);
  return best;
}

/**
 * `switchyard bench crypto`: HalfSipHash MACs/s against the C baseline in the same run, MAC
 * vectors of 4 and 16, signatures and verifications per second for every secp256k1 backend,
 * and SHA-256 per backend.
 */
export async function benchCrypto(opts: BenchOptions, log: (line: string) => void): Promise<BenchResult> {
  const ms = (opts.seconds ?? 1) * 1000;
  const key = halfSipKey(randomBytes(8));
  const msg = randomBytes(32);
  const words = toWords(msg);
  let sink = 0;
  log('HalfSipHash-2-4, 32-byte inputs: TypeScript and C');
  const ts = rate(100_000, () => {
    for (let i = 0; i < 100_000; i++) {
      words[0] = i;
      sink ^= halfSipHash32Words(key.k0, key.k1, words, 32);
    }
  }, ms);
  const c = cHalfSipHash(32);
  const vectorRates: Record<string, number> = {};
  for (const n of [4, 16]) {
    const keys = new MacVectorKeys(Array.from({ length: n }, () => halfSipKey(randomBytes(8))));
    const out = new Uint32Array(n);
    vectorRates[`mac_vectors_${n}_per_s`] = rate(10_000, () => {
      for (let i = 0; i < 10_000; i++) {
        msg[0] = i;
        keys.sign(msg, out);
      }
    }, ms);
  }

  log('secp256k1 sign and verify, per backend');
  const digest = randomBytes(32);
  const secret = newSecretKey();
  const signatures: Record<string, { sign_per_s: number; verify_per_s: number }> = {};
  for (const b of allBackends) {
    const publicKey = b.publicKey(secret);
    const sig = b.sign(digest, secret);
    const n = b.name === 'noble' ? 20 : 200;
    signatures[b.name] = {
      sign_per_s: rate(n, () => {
        for (let i = 0; i < n; i++) b.sign(digest, secret);
      }, ms),
      verify_per_s: rate(n, () => {
        for (let i = 0; i < n; i++) if (!b.verify(sig, digest, publicKey)) throw new Error(`${b.name} failed to verify`);
      }, ms),
    };
    log(`  ${b.name}: ${signatures[b.name]!.sign_per_s.toFixed(0)} sign/s, ${signatures[b.name]!.verify_per_s.toFixed(0)} verify/s`);
  }

  log('SHA-256 of a 64-byte hash-chain link, HMAC-SHA256 of a 100-byte reply');
  const link = randomBytes(64);
  const reply = randomBytes(100);
  const macKey = randomBytes(32);
  const sha = {
    noble: rate(10_000, () => {
      for (let i = 0; i < 10_000; i++) sha256(link);
    }, ms),
    'node:crypto (hot path)': rate(10_000, () => {
      for (let i = 0; i < 10_000; i++) hotSha256(link);
    }, ms),
  };
  const hmacRates = {
    noble: rate(10_000, () => {
      for (let i = 0; i < 10_000; i++) hmac(sha256, macKey, reply);
    }, ms),
    'node:crypto (hot path)': rate(10_000, () => {
      for (let i = 0; i < 10_000; i++) hmacSha256(macKey, reply);
    }, ms),
  };
  // The MACs feed a checksum so the optimizer cannot drop the loop; it is reported, not judged.

  const native = nativeBackend ? signatures[nativeBackend.name]!.verify_per_s : null;
  const hot = signatures[hotPathBackend.name]!.verify_per_s;
  const json = {
    ratio_halfsiphash_ts_to_c: ts / c,
    ratio_verify_hotpath_to_libsecp256k1: native ? hot / native : null,
    hot_path_backend: hotPathBackend.name,
    halfsiphash_32b: { typescript_macs_per_s: ts, c_gcc_O2_macs_per_s: c, checksum: sink >>> 0 },
    ...vectorRates,
    signatures,
    sha256_64b_per_s: sha,
    hmac_sha256_100b_per_s: hmacRates,
    targets: {
      halfsiphash_ts_at_least_60pct_of_c: ts / c >= 0.6,
      verify_hotpath_at_least_80pct_of_libsecp256k1: native ? hot / native >= 0.8 : false,
    },
  };
  const f = (x: number) => x.toFixed(0);
  return {
    name: 'crypto',
    json,
    tables: [
      ['HalfSipHash-2-4 (32-byte input)', ['implementation', 'MACs/s'], [
        ['TypeScript', f(ts)], ['C (gcc -O2)', f(c)], ['ratio TS / C', (ts / c).toFixed(3)],
        ['MAC vector of 4 (vectors/s)', f(vectorRates.mac_vectors_4_per_s!)], ['MAC vector of 16 (vectors/s)', f(vectorRates.mac_vectors_16_per_s!)],
      ]],
      ['secp256k1 ECDSA (32-byte digests)', ['backend', 'sign/s', 'verify/s'],
        Object.entries(signatures).map(([name, r]) => [name + (name === hotPathBackend.name ? ' (hot path)' : ''), f(r.sign_per_s), f(r.verify_per_s)])],
      ['SHA-256 (64-byte input)', ['backend', 'hashes/s'], Object.entries(sha).map(([k, v]) => [k, f(v)])],
      ['HMAC-SHA256 (100-byte input)', ['backend', 'MACs/s'], Object.entries(hmacRates).map(([k, v]) => [k, f(v)])],
    ],
  };
}
