/**
 * Real SDK clients talk to a local HTTP server that answers with AWS's own error documents, so the
 * classification is checked against errors exactly as the SDK deserialises them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeCacheClustersCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callAws, toUpstreamError } from '../../src/adapters/aws/aws-errors.js';
import { UpstreamError } from '../../src/domain/errors.js';

type Reply = { status: number; body: string } | 'hang';
let reply: Reply = 'hang';
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (reply === 'hang') return;
      response.writeHead(reply.status, { 'content-type': 'text/xml' });
      response.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
// One attempt: the SDK's own retries would only slow the test down.
const ec2 = (url = endpoint, requestTimeout?: number) =>
  new EC2Client({
    region: 'eu-west-1',
    credentials,
    endpoint: url,
    maxAttempts: 1,
    // Without throwOnRequestTimeout the handler only logs a warning when requestTimeout passes.
    requestHandler: { requestTimeout, throwOnRequestTimeout: true },
  });
const elasticache = () => new ElastiCacheClient({ region: 'eu-west-1', credentials, endpoint, maxAttempts: 1 });

function ec2Reply(status: number, code: string, message: string): Reply {
  return {
    status,
    body: `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>0d4a1b2c-3e4f-5a6b-7c8d-9e0f1a2b3c4d</RequestID></Response>`,
  };
}

function elastiCacheReply(status: number, type: 'Sender' | 'Receiver', code: string, message: string): Reply {
  return {
    status,
    body: `<ErrorResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/">
  <Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error>
  <RequestId>7b1e2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d</RequestId>
</ErrorResponse>`,
  };
}

async function describeGroups(client: EC2Client = ec2()): Promise<UpstreamError> {
  const error = await callAws('DescribeSecurityGroups', () =>
    client.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0aaaaaaaaaaaaaaaa'] })),
  ).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

async function describeClusters(): Promise<UpstreamError> {
  const error = await callAws('DescribeCacheClusters', () =>
    elasticache().send(new DescribeCacheClustersCommand({ CacheClusterId: 'orders-redis-001' })),
  ).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

describe('retryable', () => {
  test.each([
    [503, 'RequestLimitExceeded', 'Request limit exceeded.'],
    [500, 'InternalError', 'An internal error has occurred'],
    [503, 'Unavailable', 'The server is overloaded and can not handle the request'],
  ])('EC2 %i %s', async (status, code, message) => {
    reply = ec2Reply(status, code, message);

    const error = await describeGroups();

    expect(error).toMatchObject({ service: 'aws', upstreamCode: code, retryable: true });
    expect(error.message).toBe(`AWS DescribeSecurityGroups failed with ${code}: ${message}`);
  });

  test.each([
    [400, 'Sender', 'Throttling', 'Rate exceeded'],
    [503, 'Receiver', 'ServiceUnavailable', 'Service is unavailable.'],
  ] as const)('ElastiCache %i %s', async (status, type, code, message) => {
    reply = elastiCacheReply(status, type, code, message);

    expect(await describeClusters()).toMatchObject({ upstreamCode: code, retryable: true });
  });

  test('a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const error = await describeGroups(ec2(`http://127.0.0.1:${port}`));

    expect(error).toMatchObject({ upstreamCode: 'ECONNREFUSED', retryable: true });
    expect(error.message).toContain('DescribeSecurityGroups');
  });

  test('a request that times out', async () => {
    reply = 'hang';

    expect(await describeGroups(ec2(endpoint, 200))).toMatchObject({ upstreamCode: 'TimeoutError', retryable: true });
  });
});

describe('permanent', () => {
  test.each([
    [403, 'UnauthorizedOperation', 'You are not authorized to perform this operation.'],
    [400, 'InvalidGroup.NotFound', "The security group 'sg-0aaaaaaaaaaaaaaaa' does not exist"],
    [400, 'InvalidParameterValue', 'Value (x) for parameter groupId is invalid.'],
  ])('EC2 %i %s', async (status, code, message) => {
    reply = ec2Reply(status, code, message);

    expect(await describeGroups()).toMatchObject({ upstreamCode: code, retryable: false });
  });

  test.each([
    [403, 'AccessDenied', 'User is not authorized to perform: elasticache:DescribeCacheClusters'],
  ])('ElastiCache %i %s', async (status, code, message) => {
    reply = elastiCacheReply(status, 'Sender', code, message);

    expect(await describeClusters()).toMatchObject({ upstreamCode: code, retryable: false });
  });

  // The SDK names modelled faults by their shape, not by the code on the wire.
  test.each([
    [400, 'InvalidParameterValue', 'InvalidParameterValueException', 'The parameter CacheClusterIdentifier is not valid.'],
    [404, 'CacheClusterNotFound', 'CacheClusterNotFoundFault', 'CacheCluster not found: orders-redis-001'],
  ])('ElastiCache %i %s becomes %s', async (status, wireCode, sdkName, message) => {
    reply = elastiCacheReply(status, 'Sender', wireCode, message);

    expect(await describeClusters()).toMatchObject({ upstreamCode: sdkName, retryable: false });
  });
});

test('an encoded authorization message is clipped, keeping the action and code', async () => {
  const encoded = 'A'.repeat(2000);
  reply = ec2Reply(403, 'UnauthorizedOperation', `You are not authorized. Encoded authorization failure message: ${encoded}`);

  const error = await describeGroups();

  expect(error.message.length).toBeLessThanOrEqual(300);
  expect(error.message.startsWith('AWS DescribeSecurityGroups failed with UnauthorizedOperation: You are not authorized.')).toBe(true);
});

test('an error thrown before any AWS reply names itself', () => {
  const error = toUpstreamError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'RevokeSecurityGroupIngress');

  expect(error).toMatchObject({ upstreamCode: 'ECONNRESET', retryable: true });
  expect(error.message).toBe('AWS RevokeSecurityGroupIngress failed with ECONNRESET: socket hang up');
});
