/** The command line the requester is given to connect, for each engine, TLS and AUTH setting. */
import { describe, expect, test } from 'vitest';
import type { ConnectionFacts, GrantFacts } from '../../src/app/ports.js';
import { connectCommand, requesterMessage } from '../../src/adapters/slack/blocks.js';
import type { AccessRequest, Engine } from '../../src/domain/request.js';
import { validateBlocks } from '../fakes/fake-slack-server.js';

const T0 = new Date('2026-01-01T10:00:00Z');

function activeRequest(engine: Engine, port: number): AccessRequest {
  return {
    id: 7,
    status: 'active',
    requesterId: 'U0REQUEST1',
    requesterName: 'alice',
    clusterId: 'orders-cache',
    engine,
    endpoint: 'orders-cache.abc123.cfg.euw1.cache.amazonaws.com',
    port,
    vpcId: 'vpc-0123456789abcdef0',
    targetGroupId: 'sg-0aaaaaaaaaaaaaaaa',
    source: { kind: 'cidr', cidr: '10.1.2.0/24' },
    durationSeconds: 3600,
    reason: '',
    policyMatch: '*',
    approvalsRequired: 1,
    approvals: [{ userId: 'U0APPROVE1', at: T0 }],
    createdAt: T0,
    approvedAt: T0,
    activatedAt: T0,
    expiresAt: new Date(T0.getTime() + 3_600_000),
    ruleRecordId: 1,
    version: 4,
  };
}

function facts(connection: ConnectionFacts): GrantFacts {
  return { accountId: '123456789012', region: 'eu-west-1', exposure: { otherClusters: [], otherInterfaces: [] }, connection };
}

const host = 'orders-cache.abc123.cfg.euw1.cache.amazonaws.com';

describe('connectCommand', () => {
  test.each<[string, Engine, number, ConnectionFacts, string]>([
    ['Redis, plain', 'redis', 6379, { tls: false, auth: 'none', clusterMode: false }, `redis-cli -h ${host} -p 6379`],
    ['Redis, TLS', 'redis', 6379, { tls: true, auth: 'none', clusterMode: false }, `redis-cli -h ${host} -p 6379 --tls`],
    ['Redis, TLS and AUTH token', 'redis', 6379, { tls: true, auth: 'auth-token', clusterMode: false }, `redis-cli -h ${host} -p 6379 --tls --askpass`],
    ['Redis, cluster mode with RBAC', 'redis', 6379, { tls: true, auth: 'rbac', clusterMode: true }, `redis-cli -h ${host} -p 6379 --tls -c --user YOUR_USER --askpass`],
    ['Valkey, plain', 'valkey', 6380, { tls: false, auth: 'none', clusterMode: false }, `valkey-cli -h ${host} -p 6380`],
    ['Valkey, TLS', 'valkey', 6379, { tls: true, auth: 'none', clusterMode: false }, `valkey-cli -h ${host} -p 6379 --tls`],
    ['Memcached, plain', 'memcached', 11211, { tls: false, auth: 'none', clusterMode: false }, `nc ${host} 11211`],
    ['Memcached, TLS', 'memcached', 11211, { tls: true, auth: 'none', clusterMode: false }, `openssl s_client -quiet -connect ${host}:11211`],
  ])('%s', (_name, engine, port, connection, expected) => {
    expect(connectCommand(activeRequest(engine, port), facts(connection))).toBe(expected);
  });
});

describe("the requester's DM once access is open", () => {
  test('shows the hints within Slack limits', () => {
    const request = { ...activeRequest('redis', 6379), facts: facts({ tls: true, auth: 'auth-token', clusterMode: false }) };
    const { blocks } = requesterMessage(request);
    expect(JSON.stringify(blocks)).toContain(`redis-cli -h ${host} -p 6379 --tls --askpass`);
    expect(validateBlocks(blocks)).toEqual([]);
  });

  test('a request recorded without facts (made before they were kept) gets no hints', () => {
    expect(JSON.stringify(requesterMessage(activeRequest('redis', 6379)).blocks)).not.toContain('How to connect');
  });
});
