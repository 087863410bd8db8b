/**
 * The blast radius of an ingress rule: a rule opens a port on every network interface in the
 * security group, not just on the cluster it was asked for. Finds what else the group protects.
 */
import {
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupRulesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { DescribeCacheClustersCommand, type CacheCluster, type ElastiCacheClient } from '@aws-sdk/client-elasticache';
import type { ClusterInfo, GroupExposure } from '../../app/ports.js';
import { callAws } from './aws-errors.js';

// ElastiCache names each node's network interface "ElastiCache <cache cluster id>".
const ELASTICACHE_INTERFACE = /^ElastiCache (\S+)/;

export async function groupExposure(
  clients: { ec2: EC2Client; elasticache: ElastiCacheClient },
  groupId: string,
  cluster: ClusterInfo,
): Promise<GroupExposure> {
  const inGroup = (await allCacheClusters(clients.elasticache)).filter((c) =>
    (c.SecurityGroups ?? []).some((membership) => membership.SecurityGroupId === groupId),
  );
  const own = new Set(cluster.memberIds);
  const others = inGroup.filter((c) => !own.has(c.CacheClusterId ?? '') && c.ReplicationGroupId !== cluster.id);
  // A cluster on another port is not opened: nothing of it listens on this one.
  const exposed = others.filter((c) => {
    const port = portOf(c);
    return port === undefined || port === cluster.port;
  });
  const otherClusters = [...new Set(exposed.map((c) => c.ReplicationGroupId ?? c.CacheClusterId ?? ''))].sort();

  const accounted = new Set([...own, ...inGroup.map((c) => c.CacheClusterId ?? '')]);
  const otherInterfaces = (await interfaceDescriptions(clients.ec2, groupId)).filter(({ description }) => {
    const node = ELASTICACHE_INTERFACE.exec(description)?.[1];
    return node === undefined || !accounted.has(node);
  });
  return {
    otherClusters,
    otherInterfaces: otherInterfaces.map(({ id, description }) => (description === '' ? id : description)),
    inboundRuleCount: await inboundRuleCount(clients.ec2, groupId),
  };
}

function portOf(cluster: CacheCluster): number | undefined {
  return cluster.ConfigurationEndpoint?.Port ?? cluster.CacheNodes?.[0]?.Endpoint?.Port;
}

async function allCacheClusters(elasticache: ElastiCacheClient): Promise<CacheCluster[]> {
  const clusters: CacheCluster[] = [];
  let marker: string | undefined;
  do {
    const page = await callAws('DescribeCacheClusters', () =>
      elasticache.send(new DescribeCacheClustersCommand({ ShowCacheNodeInfo: true, Marker: marker })),
    );
    clusters.push(...(page.CacheClusters ?? []));
    marker = page.Marker;
  } while (marker);
  return clusters;
}

async function interfaceDescriptions(ec2: EC2Client, groupId: string): Promise<Array<{ id: string; description: string }>> {
  const found: Array<{ id: string; description: string }> = [];
  let nextToken: string | undefined;
  do {
    const page = await callAws('DescribeNetworkInterfaces', () =>
      ec2.send(
        new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }], NextToken: nextToken }),
      ),
    );
    for (const eni of page.NetworkInterfaces ?? []) {
      found.push({ id: eni.NetworkInterfaceId ?? '', description: eni.Description ?? '' });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return found;
}

async function inboundRuleCount(ec2: EC2Client, groupId: string): Promise<number> {
  let count = 0;
  let nextToken: string | undefined;
  do {
    const page = await callAws('DescribeSecurityGroupRules', () =>
      ec2.send(
        new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }], NextToken: nextToken }),
      ),
    );
    count += (page.SecurityGroupRules ?? []).filter((rule) => rule.IsEgress === false).length;
    nextToken = page.NextToken;
  } while (nextToken);
  return count;
}
