/** The AWS account most bot tests start from: Redis clusters in one target group, and a source group to grant from. */
import type { FakeAwsAccount } from '../fakes/aws-account.js';

/** The group the clusters are in, which gets the ingress rule. */
export const TARGET_GROUP = 'sg-0c1a57000000000a1';
/** The group access is requested from. */
export const SOURCE_GROUP = 'sg-0a1b2c3d4e5f60789';

/** Adds both groups, and for each id a Redis replication group on port 6379 in TARGET_GROUP. */
export function addRedisClusters(aws: FakeAwsAccount, clusterIds: readonly string[] = ['orders-redis']): void {
  aws.addGroup(TARGET_GROUP);
  aws.addGroup(SOURCE_GROUP);
  for (const id of clusterIds) aws.addReplicationGroup({ id, engine: 'redis', port: 6379, securityGroupIds: [TARGET_GROUP] });
}
