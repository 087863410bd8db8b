/**
 * The adapters that call AWS, built together on one set of SDK clients. src/wiring.ts imports this module
 * on the first AWS call rather than at start-up: the AWS SDK is a large part of what the bot would
 * otherwise parse before it is ready, and nothing on the way to ready calls AWS.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { STSClient } from '@aws-sdk/client-sts';
import type { Clock, ClusterDirectory, ClusterNetwork, Firewall, SessionCredentials } from '../../app/ports.js';
import { AwsClientPool } from './client-pool.js';
import { AwsClusterNetwork } from './cluster-network.js';
import { stsAssumeRole } from './credentials.js';
import { Ec2Firewall } from './ec2-firewall.js';
import { ElastiCacheDirectory } from './elasticache-directory.js';
import { AwsSessionCredentials } from './session-credentials.js';

export interface AwsAdapters {
  directory: ClusterDirectory;
  firewall: Firewall;
  network: ClusterNetwork;
  sessionCredentials: SessionCredentials;
  /** Closes the SDK clients' connections. */
  destroy(): void;
}

export function createAwsAdapters(clock: Clock): AwsAdapters {
  // The AWS SDK reads AWS_REGION, AWS_ENDPOINT_URL and credentials from its own default chain.
  // A hung AWS call must fail (and be retried) rather than hold a job forever.
  const requestHandler = { connectionTimeout: 5_000, requestTimeout: 20_000, throwOnRequestTimeout: true };
  const ec2 = new EC2Client({ requestHandler });
  const elasticache = new ElastiCacheClient({ requestHandler });
  const sts = new STSClient({ requestHandler });
  // Policy rules with `region` / `roleArn` reach other regions and accounts through this pool.
  const clients = new AwsClientPool({ ec2, elasticache }, { assumeRole: stsAssumeRole(sts), clock });
  return {
    directory: new ElastiCacheDirectory({ elasticache, ec2, clients }),
    firewall: new Ec2Firewall({ ec2, clients }),
    network: new AwsClusterNetwork(clients),
    sessionCredentials: new AwsSessionCredentials(clients, clock),
    destroy() {
      ec2.destroy();
      elasticache.destroy();
      sts.destroy();
    },
  };
}
