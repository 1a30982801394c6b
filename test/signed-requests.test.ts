import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeKvRequest } from '../node/apps/kv.js';
import { hotPathBackend, newSecretKey } from '../node/crypto/signature.js';
import { forgedRequest, openSignedRequest, signRequest } from '../node/neobft/requests.js';
import { WireError } from '../node/runtime/core.js';

test('a signed request opens only for the client it names, untampered; a forged one is refused by reason', () => {
  const secrets = [newSecretKey(), newSecretKey()];
  const pub = (c: number) => (secrets[c] ? hotPathBackend.publicKey(secrets[c]!) : undefined);
  const body = encodeKvRequest({ client: 1, requestId: 7, op: { op: 'put', key: 'k1', value: 'v' } });
  const signed = signRequest(body, secrets[1]!, hotPathBackend);
  assert.deepEqual(openSignedRequest(signed, pub, hotPathBackend), { client: 1, requestId: 7, op: { op: 'put', key: 'k1', value: 'v' } });
  const refused = (payload: Uint8Array, reason: string) =>
    assert.throws(() => openSignedRequest(payload, pub, hotPathBackend), (e) => e instanceof WireError && e.reason === reason);
  const tampered = signed.slice();
  tampered[3]! ^= 1;
  refused(tampered, 'bad-client-signature');
  refused(signRequest(body, secrets[0]!, hotPathBackend), 'bad-client-signature');
  refused(forgedRequest(14, true), 'bad-client-signature');
  refused(signed.subarray(0, 64), 'truncated');
});
