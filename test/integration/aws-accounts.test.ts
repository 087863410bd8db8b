/**
 * Accounts and regions: a policy rule's roleArn is assumed through STS (faked as the AssumeRole call)
 * and its credentials are cached and refreshed before they expire; look-ups for that rule go to its
 * region with those credentials, checked at the SDK edge and on the wire.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { AwsClientPool } from '../../src/adapters/aws/client-pool.js';
import { assumedRoleCredentials, REFRESH_BEFORE_EXPIRY_MS, type TemporaryCredentials } from '../../src/adapters/aws/credentials.js';
import { ElastiCacheDirectory } from '../../src/adapters/aws/elasticache-directory.js';
import { UpstreamError } from '../../src/domain/errors.js';
import { ec2Client, elastiCacheClient } from '../fixtures/aws/sdk.js';
import { FakeAwsAccount } from '../fakes/aws-account.js';

const ROLE = 'arn:aws:iam::210987654321:role/cache-access';
const T0 = new Date('2026-11-26T12:00:00Z');

/** A stand-in for STS: each AssumeRole call hands out new keys valid for an hour from the clock. */
function fakeSts(clock: { readonly now: Date }) {
  const calls: Array<{ roleArn: string; sessionName: string }> = [];
  const assumeRole = async (roleArn: string, sessionName: string): Promise<TemporaryCredentials> => {
    calls.push({ roleArn, sessionName });
    const n = calls.length;
    return {
      accessKeyId: `ASIAFAKE${n}`,
      secretAccessKey: `secret-${n}`,
      sessionToken: `token-${n}`,
      expiration: new Date(clock.now.getTime() + 3_600_000),
    };
  };
  return { calls, assumeRole };
}

describe('assumed-role credentials', () => {
  test('assumed once, reused, and assumed again shortly before they expire', async () => {
    const clock = { now: T0 };
    const sts = fakeSts(clock);
    const credentials = assumedRoleCredentials(sts.assumeRole, ROLE, { now: () => clock.now });

    expect((await credentials()).accessKeyId).toBe('ASIAFAKE1');
    clock.now = new Date(T0.getTime() + 3_600_000 - REFRESH_BEFORE_EXPIRY_MS - 1_000);
    expect((await credentials()).accessKeyId).toBe('ASIAFAKE1');
    expect(sts.calls).toEqual([{ roleArn: ROLE, sessionName: 'cache-access' }]);

    clock.now = new Date(T0.getTime() + 3_600_000 - REFRESH_BEFORE_EXPIRY_MS + 1_000);
    expect((await credentials()).accessKeyId).toBe('ASIAFAKE2');
    expect(sts.calls).toHaveLength(2);
  });

  test('callers asking at once share one STS call; a failure is not kept', async () => {
    const clock = { now: T0 };
    const sts = fakeSts(clock);
    let fail = true;
    const credentials = assumedRoleCredentials(
      async (roleArn, sessionName) => {
        if (fail) throw new Error('AccessDenied');
        return sts.assumeRole(roleArn, sessionName);
      },
      ROLE,
      { now: () => clock.now },
    );
    await expect(credentials()).rejects.toThrow('AccessDenied');
    fail = false;
    const both = await Promise.all([credentials(), credentials()]);
    expect(both.map((c) => c.accessKeyId)).toEqual(['ASIAFAKE1', 'ASIAFAKE1']);
    expect(sts.calls).toHaveLength(1);
  });
});

describe('look-ups for a rule with region and roleArn', () => {
  let aws: FakeAwsAccount;
  beforeEach(() => {
    aws = new FakeAwsAccount();
    aws.addGroup('sg-0f0000000000000f1', undefined, { ownerId: '210987654321' });
    aws.addReplicationGroup({ id: 'orders-redis', engine: 'redis', port: 6379, securityGroupIds: ['sg-0f0000000000000f1'] });
  });
  afterEach(() => aws.restore());

  test("go to the rule's region with the assumed role's credentials; others stay home", async () => {
    // The fake's expiry and the pool's judgement of it come from one clock.
    const clock = { now: T0 };
    const sts = fakeSts(clock);
    const home = { ec2: ec2Client(), elasticache: elastiCacheClient() };
    const pool = new AwsClientPool(home, { assumeRole: sts.assumeRole, clock: { now: () => clock.now } });
    const directory = new ElastiCacheDirectory({ ...home, clients: pool });

    const cluster = await directory.findCluster('orders-redis', { region: 'us-east-1', roleArn: ROLE });
    expect(cluster).toMatchObject({ accountId: '210987654321', region: 'us-east-1' });
    expect(new Set(aws.origins.map((o) => `${o.region} ${o.accessKeyId}`))).toEqual(new Set(['us-east-1 ASIAFAKE1']));

    aws.origins.length = 0;
    await directory.findCluster('orders-redis');
    expect(new Set(aws.origins.map((o) => `${o.region} ${o.accessKeyId}`))).toEqual(new Set(['eu-west-1 x']));
    expect(sts.calls).toHaveLength(1);
  });

  test('a roleArn without STS is a permanent, explained error', async () => {
    const home = { ec2: ec2Client(), elasticache: elastiCacheClient() };
    const directory = new ElastiCacheDirectory(home);
    const failure = await directory.findCluster('orders-redis', { roleArn: ROLE }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ upstreamCode: 'AssumeRoleUnavailable', retryable: false });
  });
});

describe('on the wire', () => {
  let server: Server;
  const seen: IncomingHttpHeaders[] = [];
  beforeEach(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      // Without a Date, the SDK cannot take the faked clock for skew and re-sign with the real one.
      res.sendDate = false;
      res.writeHead(400, { 'content-type': 'text/xml' });
      res.end('<Response><Errors><Error><Code>InvalidGroup.NotFound</Code><Message>no</Message></Error></Errors><RequestID>r</RequestID></Response>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterEach(async () => {
    seen.length = 0;
    await new Promise((resolve) => server.close(resolve));
  });

  test('requests are signed with the assumed keys and session token, and with new ones shortly before those expire', async () => {
    // Only Date is faked: the SDK's own credential cache and the signer read it, sockets keep working.
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const clock = {
      get now() {
        return new Date();
      },
    };
    const sts = fakeSts(clock);
    const ec2 = new EC2Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: assumedRoleCredentials(sts.assumeRole, ROLE, { now: () => new Date() }),
    });
    const send = () => ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0f0000000000000f1'] })).catch(() => undefined);
    try {
      await send();
      vi.setSystemTime(start + 30 * 60_000);
      await send();
      // Four minutes before the first keys expire: inside the SDK's margin and ours.
      vi.setSystemTime(start + 56 * 60_000);
      await send();
    } finally {
      vi.useRealTimers();
      ec2.destroy();
    }
    expect(seen.map((headers) => headers['x-amz-security-token'])).toEqual(['token-1', 'token-1', 'token-2']);
    expect(seen.map((headers) => /Credential=(\w+)\//.exec(String(headers.authorization))?.[1])).toEqual(['ASIAFAKE1', 'ASIAFAKE1', 'ASIAFAKE2']);
    expect(sts.calls).toHaveLength(2);
  });
});
