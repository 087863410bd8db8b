/** ClusterDirectory over the ElastiCache and EC2 APIs: what a cluster is, where it listens, which groups guard it. */
import { DescribeSecurityGroupsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  type CacheCluster,
  type ElastiCacheClient,
  type Endpoint,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import type { ClusterDirectory, ClusterInfo, SecurityGroupInfo } from '../../app/ports.js';
import { NotFoundError, UpstreamError } from '../../domain/errors.js';
import type { Engine } from '../../domain/request.js';
import { callAwsUnlessAbsent } from './aws-errors.js';

const REPLICATION_GROUP_ABSENT: ReadonlySet<string> = new Set(['ReplicationGroupNotFoundFault']);
// The SDK names the modelled fault CacheClusterNotFoundFault; the wire code is CacheClusterNotFound.
const CACHE_CLUSTER_ABSENT: ReadonlySet<string> = new Set(['CacheClusterNotFoundFault', 'CacheClusterNotFound']);
const SECURITY_GROUP_ABSENT: ReadonlySet<string> = new Set(['InvalidGroup.NotFound', 'InvalidGroupId.Malformed']);
const ENGINES: readonly Engine[] = ['redis', 'valkey', 'memcached'];

export class ElastiCacheDirectory implements ClusterDirectory {
  private readonly elasticache: ElastiCacheClient;
  private readonly ec2: EC2Client;

  constructor({ elasticache, ec2 }: { elasticache: ElastiCacheClient; ec2: EC2Client }) {
    this.elasticache = elasticache;
    this.ec2 = ec2;
  }

  async findCluster(id: string): Promise<ClusterInfo | undefined> {
    const group = await this.replicationGroup(id);
    if (group) return this.describeReplicationGroup(group);
    const cluster = await this.cacheCluster(id);
    return cluster && this.describeCacheCluster(cluster);
  }

  async findSecurityGroup(id: string): Promise<SecurityGroupInfo | undefined> {
    const output = await callAwsUnlessAbsent('DescribeSecurityGroups', SECURITY_GROUP_ABSENT, () =>
      this.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] })),
    );
    const group = output?.SecurityGroups?.find((g) => g.GroupId === id);
    if (!group) return undefined;
    return { id, name: group.GroupName ?? '', vpcId: group.VpcId ?? '' };
  }

  private async replicationGroup(id: string): Promise<ReplicationGroup | undefined> {
    const output = await callAwsUnlessAbsent('DescribeReplicationGroups', REPLICATION_GROUP_ABSENT, () =>
      this.elasticache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id })),
    );
    return output?.ReplicationGroups?.[0];
  }

  private async cacheCluster(id: string): Promise<CacheCluster | undefined> {
    const output = await callAwsUnlessAbsent('DescribeCacheClusters', CACHE_CLUSTER_ABSENT, () =>
      this.elasticache.send(new DescribeCacheClustersCommand({ CacheClusterId: id, ShowCacheNodeInfo: true })),
    );
    return output?.CacheClusters?.[0];
  }

  private async describeReplicationGroup(group: ReplicationGroup): Promise<ClusterInfo> {
    const id = group.ReplicationGroupId ?? '';
    // A replication group has no security groups of its own; its member clusters carry them.
    // One call at a time: a large cluster-mode group has many members, and bursts get throttled.
    const members: CacheCluster[] = [];
    for (const memberId of group.MemberClusters ?? []) {
      const member = await this.cacheCluster(memberId);
      if (member) members.push(member);
    }
    const endpoint = group.ConfigurationEndpoint ?? group.NodeGroups?.[0]?.PrimaryEndpoint;
    const securityGroupIds = [...new Set(members.flatMap(activeSecurityGroupIds))];
    return {
      id,
      kind: 'replication-group',
      engine: engineOf(id, group.Engine ?? members[0]?.Engine),
      ...address(id, group.Status, endpoint),
      vpcId: await this.vpcOf(securityGroupIds),
      securityGroupIds,
    };
  }

  private async describeCacheCluster(cluster: CacheCluster): Promise<ClusterInfo> {
    const id = cluster.CacheClusterId ?? '';
    // Memcached answers on its configuration endpoint; a single-node Redis or Valkey on its node.
    const endpoint = cluster.ConfigurationEndpoint ?? cluster.CacheNodes?.[0]?.Endpoint;
    const securityGroupIds = activeSecurityGroupIds(cluster);
    return {
      id,
      kind: 'cache-cluster',
      engine: engineOf(id, cluster.Engine),
      ...address(id, cluster.CacheClusterStatus, endpoint),
      vpcId: await this.vpcOf(securityGroupIds),
      securityGroupIds,
    };
  }

  /** The VPC, read from a security group: it needs no permission beyond what findSecurityGroup needs. */
  private async vpcOf(securityGroupIds: string[]): Promise<string> {
    const [first] = securityGroupIds;
    if (first === undefined) return '';
    return (await this.findSecurityGroup(first))?.vpcId ?? '';
  }
}

function activeSecurityGroupIds(cluster: CacheCluster): string[] {
  return (cluster.SecurityGroups ?? []).flatMap((membership) =>
    membership.Status === 'active' && membership.SecurityGroupId ? [membership.SecurityGroupId] : [],
  );
}

function engineOf(clusterId: string, engine: string | undefined): Engine {
  const known = ENGINES.find((e) => e === engine?.toLowerCase());
  if (known) return known;
  const message = `${clusterId} runs engine "${engine ?? 'unknown'}", which cache-access does not handle.`;
  throw new UpstreamError('aws', 'UnknownEngine', message, false);
}

function address(clusterId: string, status: string | undefined, endpoint: Endpoint | undefined) {
  if (!endpoint?.Address || endpoint.Port === undefined) {
    const state = status ?? 'unknown';
    throw new NotFoundError(`${clusterId} has no endpoint yet (status ${state}); try again once it is available.`);
  }
  return { endpoint: endpoint.Address, port: endpoint.Port };
}
