/**
 * The blast-radius and peering look-ups against the SDK, page by page: every page of clusters,
 * network interfaces and rules is read; a cluster's own nodes and clusters on other ports are not
 * counted as exposed; egress rules do not count towards the inbound quota; a peering is found
 * whichever VPC requested it, and only when active.
 */
import {
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeVpcPeeringConnectionsCommand,
} from '@aws-sdk/client-ec2';
import { DescribeCacheClustersCommand, type CacheCluster } from '@aws-sdk/client-elasticache';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, expect, test } from 'vitest';
import type { ClusterInfo } from '../../src/app/ports.js';
import { ElastiCacheDirectory } from '../../src/adapters/aws/elasticache-directory.js';
import { UpstreamError } from '../../src/domain/errors.js';
import { ec2Client, elastiCacheClient, throttled } from '../fixtures/aws/sdk.js';

const GROUP = 'sg-0aaaaaaaaaaaaaaaa';
const ec2 = ec2Client();
const elasticache = elastiCacheClient();
const ec2Mock = mockClient(ec2);
const cacheMock = mockClient(elasticache);
const directory = new ElastiCacheDirectory({ ec2, elasticache });

const orders: ClusterInfo = {
  id: 'orders-redis',
  kind: 'replication-group',
  engine: 'redis',
  endpoint: 'orders-redis.abc123.ng.0001.euw1.cache.amazonaws.com',
  port: 6379,
  vpcId: 'vpc-0123456789abcdef0',
  securityGroupIds: [GROUP],
  memberIds: ['orders-redis-001', 'orders-redis-002'],
  accountId: '123456789012',
  region: 'eu-west-1',
  connection: { tls: true, auth: 'none', clusterMode: false },
};

function node(id: string, port: number, groups: string[], replicationGroupId?: string): CacheCluster {
  return {
    CacheClusterId: id,
    ReplicationGroupId: replicationGroupId,
    Engine: 'redis',
    SecurityGroups: groups.map((SecurityGroupId) => ({ SecurityGroupId, Status: 'active' })),
    CacheNodes: [{ CacheNodeId: '0001', Endpoint: { Address: `${id}.example`, Port: port } }],
  };
}

beforeEach(() => {
  ec2Mock.reset();
  cacheMock.reset();
});

test('reads every page and reports only what else listens on the port', async () => {
  cacheMock
    .on(DescribeCacheClustersCommand, { ShowCacheNodeInfo: true, Marker: undefined })
    .resolves({ CacheClusters: [node('orders-redis-001', 6379, [GROUP], 'orders-redis'), node('sessions-redis-001', 6379, [GROUP], 'sessions-redis')], Marker: 'm2' })
    .on(DescribeCacheClustersCommand, { ShowCacheNodeInfo: true, Marker: 'm2' })
    .resolves({
      CacheClusters: [
        node('sessions-redis-002', 6379, [GROUP], 'sessions-redis'),
        node('reports', 6379, [GROUP]),
        node('metrics-valkey-001', 6380, [GROUP], 'metrics-valkey'),
        node('elsewhere', 6379, ['sg-0bbbbbbbbbbbbbbbb']),
      ],
    });
  ec2Mock
    .on(DescribeNetworkInterfacesCommand, { Filters: [{ Name: 'group-id', Values: [GROUP] }], NextToken: undefined })
    .resolves({
      NetworkInterfaces: [
        { NetworkInterfaceId: 'eni-1', Description: 'ElastiCache orders-redis-001' },
        { NetworkInterfaceId: 'eni-2', Description: 'ElastiCache metrics-valkey-001' },
        { NetworkInterfaceId: 'eni-3', Description: 'Primary network interface' },
      ],
      NextToken: 'n2',
    })
    .on(DescribeNetworkInterfacesCommand, { Filters: [{ Name: 'group-id', Values: [GROUP] }], NextToken: 'n2' })
    .resolves({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-4' }, { NetworkInterfaceId: 'eni-5', Description: 'ElastiCache someone-else-001' }] });
  ec2Mock
    .on(DescribeSecurityGroupRulesCommand, { Filters: [{ Name: 'group-id', Values: [GROUP] }], NextToken: undefined })
    .resolves({ SecurityGroupRules: [{ IsEgress: false }, { IsEgress: true }], NextToken: 'r2' })
    .on(DescribeSecurityGroupRulesCommand, { Filters: [{ Name: 'group-id', Values: [GROUP] }], NextToken: 'r2' })
    .resolves({ SecurityGroupRules: [{ IsEgress: false }, { IsEgress: false }] });

  expect(await directory.exposureOf(GROUP, orders)).toEqual({
    otherClusters: ['reports', 'sessions-redis'],
    // An ElastiCache-named interface of a cluster we did not see is still counted: better over than under.
    otherInterfaces: ['Primary network interface', 'eni-4', 'ElastiCache someone-else-001'],
    inboundRuleCount: 3,
  });
});

test('a throttled look-up is a retryable UpstreamError, never an empty blast radius', async () => {
  cacheMock.on(DescribeCacheClustersCommand).rejects(throttled());
  const failure = await directory.exposureOf(GROUP, orders).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(UpstreamError);
  expect(failure).toMatchObject({ retryable: true });
});

test('a peering is found whichever side requested it, with the peer account', async () => {
  const ours = 'vpc-0123456789abcdef0';
  const theirs = 'vpc-0fedcba9876543210';
  ec2Mock.on(DescribeVpcPeeringConnectionsCommand).resolves({
    VpcPeeringConnections: [
      {
        VpcPeeringConnectionId: 'pcx-0aaaa0000000000aa',
        Status: { Code: 'active' },
        RequesterVpcInfo: { VpcId: theirs, OwnerId: '210987654321' },
        AccepterVpcInfo: { VpcId: ours, OwnerId: '123456789012' },
      },
    ],
  });
  expect(await directory.findPeering(ours, theirs)).toEqual({ id: 'pcx-0aaaa0000000000aa', peerVpcId: theirs, peerAccountId: '210987654321' });
  const [call] = ec2Mock.commandCalls(DescribeVpcPeeringConnectionsCommand);
  expect(call!.args[0].input.Filters).toEqual([
    { Name: 'status-code', Values: ['active'] },
    { Name: 'requester-vpc-info.vpc-id', Values: [ours, theirs] },
    { Name: 'accepter-vpc-info.vpc-id', Values: [ours, theirs] },
  ]);
});

test('no active peering: undefined', async () => {
  ec2Mock.on(DescribeVpcPeeringConnectionsCommand).resolves({ VpcPeeringConnections: [] });
  expect(await directory.findPeering('vpc-0123456789abcdef0', 'vpc-0fedcba9876543210')).toBeUndefined();
});
