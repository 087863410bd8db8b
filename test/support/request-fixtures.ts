/** The request tests seed into a real store: Redis cluster orders-redis, reached from a security group. */
import type { NewAccessRequest } from '../../src/domain/request.js';

/** A request as the slash command stores it; each test overrides what it is about. */
export function requestDraft(overrides: Partial<NewAccessRequest> & Pick<NewAccessRequest, 'createdAt'>): NewAccessRequest {
  return {
    requesterId: 'U0REQUESTER',
    requesterName: 'ana',
    clusterId: 'orders-redis',
    engine: 'redis',
    endpoint: 'orders-redis.abc123.ng.0001.euw1.cache.amazonaws.com',
    port: 6379,
    vpcId: 'vpc-0123abcd',
    targetGroupId: 'sg-0aaaaaaaaaaaaaaaa',
    source: { kind: 'security-group', groupId: 'sg-0bbbbbbbbbbbbbbbb' },
    location: { accountId: '123456789012', region: 'eu-west-1', known: true },
    durationSeconds: 7200,
    reason: 'investigating checkout latency',
    policyMatch: 'orders-*',
    approvalsRequired: 1,
    ...overrides,
  };
}
