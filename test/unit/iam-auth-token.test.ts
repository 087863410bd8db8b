/** ElastiCache IAM authentication tokens: a presigned `connect` request, as ElastiCache's documentation builds it. */
import { Sha256 } from '@smithy/core/checksum';
import { expect, test } from 'vitest';
import { elastiCacheAuthToken } from '../../src/adapters/aws/iam-auth-token.js';

const signing = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session-token' },
  sha256: Sha256,
  signingDate: new Date('2026-12-01T09:00:00Z'),
};

test('is the SigV4-presigned connect request for the user, on the cache id as host, valid 15 minutes, without a scheme', async () => {
  const token = await elastiCacheAuthToken('orders-redis', 'cache-access', signing);

  expect(token.startsWith('orders-redis/?')).toBe(true);
  const url = new URL(`http://${token}`);
  const query = url.searchParams;
  expect(url.host).toBe('orders-redis');
  expect(query.get('Action')).toBe('connect');
  expect(query.get('User')).toBe('cache-access');
  expect(query.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
  expect(query.get('X-Amz-Credential')).toBe('AKIAEXAMPLE/20261201/eu-west-1/elasticache/aws4_request');
  expect(query.get('X-Amz-Date')).toBe('20261201T090000Z');
  expect(query.get('X-Amz-Expires')).toBe('900');
  expect(query.get('X-Amz-SignedHeaders')).toBe('host');
  expect(query.get('X-Amz-Security-Token')).toBe('session-token');
  expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
});

test('is signed: another user, host or moment gives another signature', async () => {
  const signature = async (cacheId: string, user: string, at = signing.signingDate) =>
    new URL(`http://${await elastiCacheAuthToken(cacheId, user, { ...signing, signingDate: at })}`).searchParams.get('X-Amz-Signature');
  const base = await signature('orders-redis', 'cache-access');
  expect(await signature('orders-redis', 'cache-access')).toBe(base);
  expect(await signature('orders-redis', 'someone-else')).not.toBe(base);
  expect(await signature('billing-redis', 'cache-access')).not.toBe(base);
  expect(await signature('orders-redis', 'cache-access', new Date('2026-12-01T09:00:01Z'))).not.toBe(base);
});
