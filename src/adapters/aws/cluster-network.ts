/**
 * ClusterNetwork over the ElastiCache and EC2 APIs: a cluster's nodes and their endpoints, the private
 * addresses of a security group's network interfaces, and the inbound rules that still let clients in.
 */
import { DescribeNetworkInterfacesCommand, DescribeSecurityGroupRulesCommand, type SecurityGroupRule } from '@aws-sdk/client-ec2';
import { DescribeCacheClustersCommand } from '@aws-sdk/client-elasticache';
import type { AwsLocation, CacheNode, ClusterInfo, ClusterNetwork } from '../../app/ports.js';
import type { Source } from '../../domain/request.js';
import { callAws } from './aws-errors.js';
import type { AwsClientPool } from './client-pool.js';

export class AwsClusterNetwork implements ClusterNetwork {
  constructor(private readonly clients: AwsClientPool) {}

  async nodes(cluster: ClusterInfo, location?: AwsLocation): Promise<CacheNode[]> {
    const { elasticache } = this.clients.for(location);
    const nodes: CacheNode[] = [];
    // Each member cache cluster of a replication group is one node (a shard's primary or a replica).
    for (const memberId of cluster.memberIds) {
      const output = await callAws('DescribeCacheClusters', () =>
        elasticache.send(new DescribeCacheClustersCommand({ CacheClusterId: memberId, ShowCacheNodeInfo: true })),
      );
      for (const member of output.CacheClusters ?? []) {
        for (const node of member.CacheNodes ?? []) {
          if (node.Endpoint?.Address && node.Endpoint.Port !== undefined) {
            nodes.push({ id: member.CacheClusterId ?? memberId, host: node.Endpoint.Address, port: node.Endpoint.Port });
          }
        }
      }
    }
    return nodes;
  }

  async groupAddresses(groupId: string, location?: AwsLocation): Promise<string[]> {
    const { ec2 } = this.clients.for(location);
    const addresses: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await callAws('DescribeNetworkInterfaces', () =>
        ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }], NextToken: nextToken })),
      );
      for (const eni of page.NetworkInterfaces ?? []) {
        addresses.push(...(eni.PrivateIpAddresses ?? []).flatMap((ip) => (ip.PrivateIpAddress ? [ip.PrivateIpAddress] : [])));
        addresses.push(...(eni.Ipv6Addresses ?? []).flatMap((ip) => (ip.Ipv6Address ? [ip.Ipv6Address] : [])));
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return [...new Set(addresses)];
  }

  async ingressSources(groupIds: string[], port: number, location?: AwsLocation): Promise<Source[]> {
    if (groupIds.length === 0) return [];
    const { ec2 } = this.clients.for(location);
    const sources: Source[] = [];
    let nextToken: string | undefined;
    do {
      const page = await callAws('DescribeSecurityGroupRules', () =>
        ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: groupIds }], NextToken: nextToken })),
      );
      for (const rule of page.SecurityGroupRules ?? []) {
        if (rule.IsEgress !== false || !letsTcpIn(rule, port)) continue;
        if (rule.CidrIpv4) sources.push({ kind: 'cidr', cidr: rule.CidrIpv4 });
        if (rule.CidrIpv6) sources.push({ kind: 'cidr', cidr: rule.CidrIpv6 });
        if (rule.ReferencedGroupInfo?.GroupId) sources.push({ kind: 'security-group', groupId: rule.ReferencedGroupInfo.GroupId });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return sources;
  }
}

/** TCP on `port`: the rule names TCP and a range holding the port, or all protocols ("-1"). */
function letsTcpIn(rule: SecurityGroupRule, port: number): boolean {
  if (rule.IpProtocol === '-1') return true;
  if (rule.IpProtocol !== 'tcp' && rule.IpProtocol !== '6') return false;
  return (rule.FromPort ?? -1) <= port && port <= (rule.ToPort ?? -1);
}
