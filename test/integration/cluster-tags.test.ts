/** ElastiCacheDirectory's tag and listing look-ups against the SDK edge: ARNs, pages, absent clusters. */
import {
  CacheClusterNotFoundFault,
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  ListTagsForResourceCommand,
  ReplicationGroupNotFoundFault,
} from '@aws-sdk/client-elasticache';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, test } from 'vitest';
import { ElastiCacheDirectory } from '../../src/adapters/aws/elasticache-directory.js';
import { UpstreamError } from '../../src/domain/errors.js';
import { ec2Client, elastiCacheClient, unauthorized } from '../fixtures/aws/sdk.js';

const metadata = { httpStatusCode: 404, requestId: 'r-1', attempts: 1, totalRetryDelay: 0 };
const RG_ARN = 'arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:orders-redis';
const CC_ARN = 'arn:aws:elasticache:eu-west-1:123456789012:cluster:sessions-memcached';

const elasticache = elastiCacheClient();
const cacheMock = mockClient(elasticache);
const directory = new ElastiCacheDirectory({ elasticache, ec2: ec2Client() });

beforeEach(() => {
  cacheMock.reset();
  cacheMock
    .on(DescribeReplicationGroupsCommand)
    .rejects(new ReplicationGroupNotFoundFault({ $metadata: metadata, message: 'not found' }))
    .on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'orders-redis' })
    .resolves({ ReplicationGroups: [{ ReplicationGroupId: 'orders-redis', ARN: RG_ARN }] })
    .on(DescribeCacheClustersCommand)
    .rejects(new CacheClusterNotFoundFault({ $metadata: metadata, message: 'not found' }))
    .on(DescribeCacheClustersCommand, { CacheClusterId: 'sessions-memcached' })
    .resolves({ CacheClusters: [{ CacheClusterId: 'sessions-memcached', ARN: CC_ARN }] });
});

describe('clusterTags', () => {
  test("reads a replication group's tags through its ARN", async () => {
    cacheMock.on(ListTagsForResourceCommand, { ResourceName: RG_ARN }).resolves({
      TagList: [{ Key: 'cache-access:approvers', Value: 'U0OWNER,S0TEAM' }, { Key: 'team', Value: 'orders' }],
    });
    expect(await directory.clusterTags('orders-redis')).toEqual({ 'cache-access:approvers': 'U0OWNER,S0TEAM', team: 'orders' });
  });

  test("falls back to a cache cluster's ARN", async () => {
    cacheMock.on(ListTagsForResourceCommand, { ResourceName: CC_ARN }).resolves({ TagList: [{ Key: 'owner', Value: 'web' }] });
    expect(await directory.clusterTags('sessions-memcached')).toEqual({ owner: 'web' });
  });

  test('a cluster that does not exist, or vanished before the tag call, has no tags', async () => {
    expect(await directory.clusterTags('nosuch')).toEqual({});
    cacheMock.on(ListTagsForResourceCommand).rejects(new ReplicationGroupNotFoundFault({ $metadata: metadata, message: 'gone' }));
    expect(await directory.clusterTags('orders-redis')).toEqual({});
  });

  test('a refused tag call is an UpstreamError naming the action', async () => {
    cacheMock.on(ListTagsForResourceCommand).rejects(unauthorized());
    const error = await directory.clusterTags('orders-redis').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).message).toContain('ListTagsForResource');
  });
});

describe('listClusterIds', () => {
  test('lists replication groups and stand-alone cache clusters across pages, not group members', async () => {
    cacheMock
      .on(DescribeReplicationGroupsCommand, { Marker: undefined })
      .resolves({ ReplicationGroups: [{ ReplicationGroupId: 'orders-redis' }], Marker: 'm1' })
      .on(DescribeReplicationGroupsCommand, { Marker: 'm1' })
      .resolves({ ReplicationGroups: [{ ReplicationGroupId: 'payments-redis' }] })
      .on(DescribeCacheClustersCommand, { Marker: undefined })
      .resolves({
        CacheClusters: [{ CacheClusterId: 'orders-redis-001', ReplicationGroupId: 'orders-redis' }, { CacheClusterId: 'sessions-memcached' }],
        Marker: 'c1',
      })
      .on(DescribeCacheClustersCommand, { Marker: 'c1' })
      .resolves({ CacheClusters: [{ CacheClusterId: 'legacy-redis' }] });
    expect(await directory.listClusterIds()).toEqual(['orders-redis', 'payments-redis', 'sessions-memcached', 'legacy-redis']);
  });
});
