import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import {
  CacheClusterNotFoundFault,
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  ReplicationGroupNotFoundFault,
  type CacheCluster,
} from '@aws-sdk/client-elasticache';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, test } from 'vitest';
import { ElastiCacheDirectory } from '../../src/adapters/aws/elasticache-directory.js';
import { NotFoundError, UpstreamError } from '../../src/domain/errors.js';
import { ec2Client, ec2Error, elastiCacheClient, elastiCacheError, unauthorized } from '../fixtures/aws/sdk.js';

const CACHE_SG = 'sg-0aaaaaaaaaaaaaaaa';
const OTHER_SG = 'sg-0bbbbbbbbbbbbbbbb';
const VPC = 'vpc-0123456789abcdef0';
const metadata = { httpStatusCode: 404, requestId: 'r-1', attempts: 1, totalRetryDelay: 0 };

const ec2 = ec2Client();
const elasticache = elastiCacheClient();
const ec2Mock = mockClient(ec2);
const cacheMock = mockClient(elasticache);
const directory = new ElastiCacheDirectory({ elasticache, ec2 });

beforeEach(() => {
  ec2Mock.reset();
  cacheMock.reset();
  ec2Mock
    .on(DescribeSecurityGroupsCommand, { GroupIds: [CACHE_SG] })
    .resolves({ SecurityGroups: [{ GroupId: CACHE_SG, GroupName: 'orders-cache', VpcId: VPC, OwnerId: '123456789012' }] });
});

function noReplicationGroup(id: string): void {
  cacheMock
    .on(DescribeReplicationGroupsCommand, { ReplicationGroupId: id })
    .rejects(new ReplicationGroupNotFoundFault({ $metadata: metadata, message: `ReplicationGroup ${id} not found.` }));
}

function memberCluster(id: string, overrides: Partial<CacheCluster> = {}): CacheCluster {
  return {
    CacheClusterId: id,
    CacheClusterStatus: 'available',
    Engine: 'redis',
    EngineVersion: '7.1.0',
    NumCacheNodes: 1,
    CacheSubnetGroupName: 'orders-subnets',
    SecurityGroups: [{ SecurityGroupId: CACHE_SG, Status: 'active' }],
    CacheNodes: [
      {
        CacheNodeId: '0001',
        CacheNodeStatus: 'available',
        Endpoint: { Address: `${id}.abc123.0001.euw1.cache.amazonaws.com`, Port: 6379 },
      },
    ],
    ...overrides,
  };
}

describe('findCluster: replication groups', () => {
  test('cluster mode disabled: primary endpoint, union of active member groups, VPC from the group', async () => {
    cacheMock.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'orders-redis' }).resolves({
      ReplicationGroups: [
        {
          ReplicationGroupId: 'orders-redis',
          Status: 'available',
          Engine: 'redis',
          ClusterEnabled: false,
          MemberClusters: ['orders-redis-001', 'orders-redis-002'],
          NodeGroups: [
            {
              NodeGroupId: '0001',
              PrimaryEndpoint: { Address: 'master.orders-redis.abc123.euw1.cache.amazonaws.com', Port: 6379 },
              ReaderEndpoint: { Address: 'replica.orders-redis.abc123.euw1.cache.amazonaws.com', Port: 6379 },
            },
          ],
        },
      ],
    });
    cacheMock
      .on(DescribeCacheClustersCommand, { CacheClusterId: 'orders-redis-001' })
      .resolves({ CacheClusters: [memberCluster('orders-redis-001', { ReplicationGroupId: 'orders-redis' })] })
      .on(DescribeCacheClustersCommand, { CacheClusterId: 'orders-redis-002' })
      .resolves({
        CacheClusters: [
          memberCluster('orders-redis-002', {
            ReplicationGroupId: 'orders-redis',
            SecurityGroups: [
              { SecurityGroupId: CACHE_SG, Status: 'active' },
              { SecurityGroupId: 'sg-0eeeeeeeeeeeeeeee', Status: 'active' },
              { SecurityGroupId: OTHER_SG, Status: 'removing' },
            ],
          }),
        ],
      });

    expect(await directory.findCluster('orders-redis')).toEqual({
      id: 'orders-redis',
      kind: 'replication-group',
      engine: 'redis',
      endpoint: 'master.orders-redis.abc123.euw1.cache.amazonaws.com',
      port: 6379,
      vpcId: VPC,
      securityGroupIds: [CACHE_SG, 'sg-0eeeeeeeeeeeeeeee'],
      memberIds: ['orders-redis-001', 'orders-redis-002'],
      accountId: '123456789012',
      region: 'eu-west-1',
      connection: { tls: false, auth: 'none', clusterMode: false },
    });
    expect(cacheMock.commandCalls(DescribeCacheClustersCommand).map((c) => c.args[0].input)).toEqual([
      { CacheClusterId: 'orders-redis-001', ShowCacheNodeInfo: true },
      { CacheClusterId: 'orders-redis-002', ShowCacheNodeInfo: true },
    ]);
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)[0]?.args[0].input).toEqual({ GroupIds: [CACHE_SG] });
  });

  test('cluster mode enabled: configuration endpoint; engine from the member when the group omits it', async () => {
    cacheMock.on(DescribeReplicationGroupsCommand).resolves({
      ReplicationGroups: [
        {
          ReplicationGroupId: 'sessions',
          Status: 'available',
          ClusterEnabled: true,
          MemberClusters: ['sessions-0001-001'],
          ConfigurationEndpoint: { Address: 'clustercfg.sessions.abc123.euw1.cache.amazonaws.com', Port: 6380 },
          NodeGroups: [{ NodeGroupId: '0001', Slots: '0-16383' }],
        },
      ],
    });
    cacheMock
      .on(DescribeCacheClustersCommand)
      .resolves({ CacheClusters: [memberCluster('sessions-0001-001', { Engine: 'valkey', ReplicationGroupId: 'sessions' })] });

    expect(await directory.findCluster('sessions')).toMatchObject({
      kind: 'replication-group',
      engine: 'valkey',
      endpoint: 'clustercfg.sessions.abc123.euw1.cache.amazonaws.com',
      port: 6380,
    });
  });

  test('a group still being created has no endpoint: NotFoundError', async () => {
    cacheMock.on(DescribeReplicationGroupsCommand).resolves({
      ReplicationGroups: [{ ReplicationGroupId: 'fresh', Status: 'creating', Engine: 'redis', MemberClusters: [], NodeGroups: [] }],
    });

    await expect(directory.findCluster('fresh')).rejects.toBeInstanceOf(NotFoundError);
  });

  test('throttling on the group lookup is retryable and does not fall back to cache clusters', async () => {
    cacheMock.on(DescribeReplicationGroupsCommand).rejects(elastiCacheError('Throttling', 400, 'Rate exceeded'));

    const error = await directory.findCluster('orders-redis').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ upstreamCode: 'Throttling', retryable: true });
    expect(cacheMock.commandCalls(DescribeCacheClustersCommand)).toHaveLength(0);
  });
});

describe('findCluster: cache clusters', () => {
  test('a single-node Redis cluster answers on its node endpoint', async () => {
    noReplicationGroup('reports');
    cacheMock
      .on(DescribeCacheClustersCommand, { CacheClusterId: 'reports', ShowCacheNodeInfo: true })
      .resolves({ CacheClusters: [memberCluster('reports')] });

    expect(await directory.findCluster('reports')).toEqual({
      id: 'reports',
      kind: 'cache-cluster',
      engine: 'redis',
      endpoint: 'reports.abc123.0001.euw1.cache.amazonaws.com',
      port: 6379,
      vpcId: VPC,
      securityGroupIds: [CACHE_SG],
      memberIds: ['reports'],
      accountId: '123456789012',
      region: 'eu-west-1',
      connection: { tls: false, auth: 'none', clusterMode: false },
    });
  });

  test('Memcached answers on its configuration endpoint', async () => {
    noReplicationGroup('catalog-mc');
    cacheMock.on(DescribeCacheClustersCommand).resolves({
      CacheClusters: [
        memberCluster('catalog-mc', {
          Engine: 'memcached',
          NumCacheNodes: 2,
          ConfigurationEndpoint: { Address: 'catalog-mc.abc123.cfg.euw1.cache.amazonaws.com', Port: 11211 },
          CacheNodes: [
            { CacheNodeId: '0001', Endpoint: { Address: 'catalog-mc.abc123.0001.euw1.cache.amazonaws.com', Port: 11211 } },
            { CacheNodeId: '0002', Endpoint: { Address: 'catalog-mc.abc123.0002.euw1.cache.amazonaws.com', Port: 11211 } },
          ],
        }),
      ],
    });

    expect(await directory.findCluster('catalog-mc')).toMatchObject({
      kind: 'cache-cluster',
      engine: 'memcached',
      endpoint: 'catalog-mc.abc123.cfg.euw1.cache.amazonaws.com',
      port: 11211,
    });
  });

  test('a cluster without VPC security groups has none and no VPC, and EC2 is not asked', async () => {
    noReplicationGroup('legacy');
    cacheMock.on(DescribeCacheClustersCommand).resolves({ CacheClusters: [memberCluster('legacy', { SecurityGroups: [] })] });

    expect(await directory.findCluster('legacy')).toMatchObject({ securityGroupIds: [], vpcId: '' });
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(0);
  });

  test('a node of a replication group answers with its group, so the policy sees the group id', async () => {
    noReplicationGroup('orders-redis-002');
    cacheMock
      .on(DescribeCacheClustersCommand)
      .resolves({ CacheClusters: [memberCluster('orders-redis-002', { ReplicationGroupId: 'orders-redis' })] })
      .on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'orders-redis' })
      .resolves({
        ReplicationGroups: [
          {
            ReplicationGroupId: 'orders-redis',
            Status: 'available',
            Engine: 'redis',
            MemberClusters: ['orders-redis-001', 'orders-redis-002'],
            NodeGroups: [{ NodeGroupId: '0001', PrimaryEndpoint: { Address: 'master.orders-redis.abc123.euw1.cache.amazonaws.com', Port: 6379 } }],
          },
        ],
      });

    expect(await directory.findCluster('orders-redis-002')).toMatchObject({
      id: 'orders-redis',
      kind: 'replication-group',
      endpoint: 'master.orders-redis.abc123.euw1.cache.amazonaws.com',
      memberIds: ['orders-redis-001', 'orders-redis-002'],
    });
  });

  test('a node whose group is gone by the time it is looked up is not found, rather than requestable on its own', async () => {
    noReplicationGroup('orders-redis-002');
    noReplicationGroup('orders-redis');
    cacheMock
      .on(DescribeCacheClustersCommand)
      .resolves({ CacheClusters: [memberCluster('orders-redis-002', { ReplicationGroupId: 'orders-redis' })] });

    expect(await directory.findCluster('orders-redis-002')).toBeUndefined();
  });

  test('neither a replication group nor a cache cluster: undefined', async () => {
    noReplicationGroup('nothing');
    cacheMock
      .on(DescribeCacheClustersCommand)
      .rejects(new CacheClusterNotFoundFault({ $metadata: metadata, message: 'CacheCluster not found: nothing' }));

    expect(await directory.findCluster('nothing')).toBeUndefined();
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(0);
  });

  test('an engine cache-access does not know is a permanent UpstreamError', async () => {
    noReplicationGroup('odd');
    cacheMock.on(DescribeCacheClustersCommand).resolves({ CacheClusters: [memberCluster('odd', { Engine: 'keydb' })] });

    await expect(directory.findCluster('odd')).rejects.toMatchObject({ upstreamCode: 'UnknownEngine', retryable: false });
  });
});

describe('findSecurityGroup', () => {
  test('returns id, name and VPC', async () => {
    expect(await directory.findSecurityGroup(CACHE_SG)).toEqual({
      id: CACHE_SG,
      name: 'orders-cache',
      vpcId: VPC,
      ownerId: '123456789012',
      tags: {},
    });
  });

  test.each([
    ['InvalidGroup.NotFound', `The security group '${OTHER_SG}' does not exist`],
    ['InvalidGroupId.Malformed', `Invalid id: "${OTHER_SG}"`],
  ])('%s → undefined', async (code, message) => {
    ec2Mock.on(DescribeSecurityGroupsCommand, { GroupIds: [OTHER_SG] }).rejects(ec2Error(code, 400, message));

    expect(await directory.findSecurityGroup(OTHER_SG)).toBeUndefined();
  });

  test('UnauthorizedOperation is a permanent UpstreamError', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand, { GroupIds: [OTHER_SG] }).rejects(unauthorized());

    await expect(directory.findSecurityGroup(OTHER_SG)).rejects.toMatchObject({
      service: 'aws',
      upstreamCode: 'UnauthorizedOperation',
      retryable: false,
    });
  });
});
