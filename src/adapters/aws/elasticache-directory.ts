/** ClusterDirectory over the ElastiCache and EC2 APIs: what a cluster is, where it listens, which groups guard it. */
import { DescribeSecurityGroupsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  ListTagsForResourceCommand,
  type CacheCluster,
  type ElastiCacheClient,
  type Endpoint,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import type {
  AwsLocation,
  ClusterDirectory,
  ClusterInfo,
  ConnectionFacts,
  GroupExposure,
  SecurityGroupInfo,
  VpcPeering,
} from '../../app/ports.js';
import { NotFoundError, UpstreamError } from '../../domain/errors.js';
import type { Engine } from '../../domain/request.js';
import { callAws, callAwsUnlessAbsent } from './aws-errors.js';
import { AwsClientPool, type AwsClients } from './client-pool.js';
import { groupExposure } from './group-exposure.js';
import { activePeering } from './vpc-peering.js';

const REPLICATION_GROUP_ABSENT: ReadonlySet<string> = new Set(['ReplicationGroupNotFoundFault']);
// The SDK names the modelled fault CacheClusterNotFoundFault; the wire code is CacheClusterNotFound.
const CACHE_CLUSTER_ABSENT: ReadonlySet<string> = new Set(['CacheClusterNotFoundFault', 'CacheClusterNotFound']);
// A cluster deleted between the describe and the tag look-up.
const TAGGED_RESOURCE_ABSENT: ReadonlySet<string> = new Set([...REPLICATION_GROUP_ABSENT, ...CACHE_CLUSTER_ABSENT, 'InvalidARNFault', 'InvalidARN']);
const SECURITY_GROUP_ABSENT: ReadonlySet<string> = new Set(['InvalidGroup.NotFound', 'InvalidGroupId.Malformed']);
const ENGINES: readonly Engine[] = ['redis', 'valkey', 'memcached'];

export class ElastiCacheDirectory implements ClusterDirectory {
  private readonly clients: AwsClientPool;

  /** `ec2` and `elasticache` serve the bot's own account and region; `clients` adds others. */
  constructor({ elasticache, ec2, clients }: { elasticache: ElastiCacheClient; ec2: EC2Client; clients?: AwsClientPool }) {
    this.clients = clients ?? new AwsClientPool({ ec2, elasticache });
  }

  async findCluster(id: string, location?: AwsLocation): Promise<ClusterInfo | undefined> {
    const at = new Place(this.clients.for(location));
    const group = await at.replicationGroup(id);
    if (group) return at.describeReplicationGroup(group);
    const cluster = await at.cacheCluster(id);
    if (!cluster?.ReplicationGroupId) return cluster && at.describeCacheCluster(cluster);
    // A node of a replication group is the group's: it answers with the group's id, so no policy
    // rule for the node's own id ever decides access to it. A group gone meanwhile is gone.
    const owner = await at.replicationGroup(cluster.ReplicationGroupId);
    return owner && at.describeReplicationGroup(owner);
  }

  findSecurityGroup(id: string, location?: AwsLocation): Promise<SecurityGroupInfo | undefined> {
    return new Place(this.clients.for(location)).securityGroup(id);
  }

  exposureOf(groupId: string, cluster: ClusterInfo, location?: AwsLocation): Promise<GroupExposure> {
    return groupExposure(this.clients.for(location), groupId, cluster);
  }

  findPeering(vpcId: string, peerVpcId: string, location?: AwsLocation): Promise<VpcPeering | undefined> {
    return activePeering(this.clients.for(location).ec2, vpcId, peerVpcId);
  }

  async clusterTags(id: string, location?: AwsLocation): Promise<Record<string, string>> {
    const at = new Place(this.clients.for(location));
    // Tags live on the ARN, which only the describe calls return.
    const arn = (await at.replicationGroup(id))?.ARN ?? (await at.cacheCluster(id))?.ARN;
    return arn === undefined ? {} : at.tagsOf(arn);
  }

  listClusterIds(location?: AwsLocation): Promise<string[]> {
    return new Place(this.clients.for(location)).clusterIds();
  }
}

/** Look-ups in one account and region. */
class Place {
  constructor(private readonly clients: AwsClients) {}

  async securityGroup(id: string): Promise<SecurityGroupInfo | undefined> {
    const output = await callAwsUnlessAbsent('DescribeSecurityGroups', SECURITY_GROUP_ABSENT, () =>
      this.clients.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] })),
    );
    const group = output?.SecurityGroups?.find((g) => g.GroupId === id);
    if (!group) return undefined;
    const tags = Object.fromEntries((group.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
    return { id, name: group.GroupName ?? '', vpcId: group.VpcId ?? '', ownerId: group.OwnerId ?? '', tags };
  }

  async replicationGroup(id: string): Promise<ReplicationGroup | undefined> {
    const output = await callAwsUnlessAbsent('DescribeReplicationGroups', REPLICATION_GROUP_ABSENT, () =>
      this.clients.elasticache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id })),
    );
    return output?.ReplicationGroups?.[0];
  }

  async cacheCluster(id: string): Promise<CacheCluster | undefined> {
    const output = await callAwsUnlessAbsent('DescribeCacheClusters', CACHE_CLUSTER_ABSENT, () =>
      this.clients.elasticache.send(new DescribeCacheClustersCommand({ CacheClusterId: id, ShowCacheNodeInfo: true })),
    );
    return output?.CacheClusters?.[0];
  }

  async tagsOf(arn: string): Promise<Record<string, string>> {
    const output = await callAwsUnlessAbsent('ListTagsForResource', TAGGED_RESOURCE_ABSENT, () =>
      this.clients.elasticache.send(new ListTagsForResourceCommand({ ResourceName: arn })),
    );
    return Object.fromEntries((output?.TagList ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
  }

  async clusterIds(): Promise<string[]> {
    const ids: string[] = [];
    let marker: string | undefined;
    do {
      const page = await callAws('DescribeReplicationGroups', () =>
        this.clients.elasticache.send(new DescribeReplicationGroupsCommand({ Marker: marker })),
      );
      ids.push(...(page.ReplicationGroups ?? []).flatMap((g) => (g.ReplicationGroupId ? [g.ReplicationGroupId] : [])));
      marker = page.Marker;
    } while (marker);
    do {
      const page = await callAws('DescribeCacheClusters', () =>
        this.clients.elasticache.send(new DescribeCacheClustersCommand({ Marker: marker })),
      );
      // Members of a replication group are requested through the group.
      ids.push(...(page.CacheClusters ?? []).flatMap((c) => (c.CacheClusterId && !c.ReplicationGroupId ? [c.CacheClusterId] : [])));
      marker = page.Marker;
    } while (marker);
    return ids;
  }

  async describeReplicationGroup(group: ReplicationGroup): Promise<ClusterInfo> {
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
      ...(await this.whereAbouts(securityGroupIds)),
      securityGroupIds,
      memberIds: group.MemberClusters ?? [],
      connection: {
        tls: group.TransitEncryptionEnabled === true,
        auth: authOf(group.AuthTokenEnabled, group.UserGroupIds),
        clusterMode: group.ClusterEnabled === true,
      },
    };
  }

  async describeCacheCluster(cluster: CacheCluster): Promise<ClusterInfo> {
    const id = cluster.CacheClusterId ?? '';
    // Memcached answers on its configuration endpoint; a single-node Redis or Valkey on its node.
    const endpoint = cluster.ConfigurationEndpoint ?? cluster.CacheNodes?.[0]?.Endpoint;
    const securityGroupIds = activeSecurityGroupIds(cluster);
    return {
      id,
      kind: 'cache-cluster',
      engine: engineOf(id, cluster.Engine),
      ...address(id, cluster.CacheClusterStatus, endpoint),
      ...(await this.whereAbouts(securityGroupIds)),
      securityGroupIds,
      memberIds: [id],
      connection: {
        tls: cluster.TransitEncryptionEnabled === true,
        auth: authOf(cluster.AuthTokenEnabled, undefined),
        clusterMode: false,
      },
    };
  }

  /**
   * VPC and account, read from a security group (it needs no permission beyond what findSecurityGroup
   * needs), and the region the clients talk to.
   */
  private async whereAbouts(securityGroupIds: string[]): Promise<Pick<ClusterInfo, 'vpcId' | 'accountId' | 'region'>> {
    // The SDK rejects a missing region only here: real calls would already have failed without one.
    const region = await this.clients.ec2.config.region().catch(() => '');
    const [first] = securityGroupIds;
    const group = first === undefined ? undefined : await this.securityGroup(first);
    return { vpcId: group?.vpcId ?? '', accountId: group?.ownerId ?? '', region };
  }
}

/** RBAC (user groups) replaces AUTH tokens where both are reported. */
function authOf(authTokenEnabled: boolean | undefined, userGroupIds: string[] | undefined): ConnectionFacts['auth'] {
  if ((userGroupIds?.length ?? 0) > 0) return 'rbac';
  return authTokenEnabled === true ? 'auth-token' : 'none';
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
