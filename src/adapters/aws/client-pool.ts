/** SDK clients per region and account: one pair for each place a policy rule points at, made on first use. */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import type { AwsLocation, Clock } from '../../app/ports.js';
import { UpstreamError } from '../../domain/errors.js';
import { assumedRoleCredentials, type AssumeRole } from './credentials.js';

export interface AwsClients {
  ec2: EC2Client;
  elasticache: ElastiCacheClient;
}

/** How to reach other accounts: STS AssumeRole, and the clock that judges when its credentials expire. */
export interface AssumedRoles {
  assumeRole: AssumeRole;
  clock: Clock;
}

export class AwsClientPool {
  private readonly located = new Map<string, AwsClients>();

  /**
   * `home` are the bot's own clients. Others take their region and credentials unless the location
   * says otherwise, and share their HTTP handler, so destroying the home clients closes every socket.
   */
  constructor(
    private readonly home: AwsClients,
    /** Without it, a location with a roleArn cannot be reached. */
    private readonly roles?: AssumedRoles,
  ) {}

  for(location: AwsLocation = {}): AwsClients {
    if (location.region === undefined && location.roleArn === undefined) return this.home;
    const key = `${location.region ?? ''} ${location.roleArn ?? ''}`;
    let clients = this.located.get(key);
    if (!clients) {
      clients = this.create(location);
      this.located.set(key, clients);
    }
    return clients;
  }

  private create({ region, roleArn }: AwsLocation): AwsClients {
    const base = this.home.ec2.config;
    let credentials = base.credentials;
    if (roleArn !== undefined) {
      if (!this.roles) {
        throw new UpstreamError('aws', 'AssumeRoleUnavailable', `cache-access cannot assume ${roleArn}: it was started without STS.`, false);
      }
      credentials = assumedRoleCredentials(this.roles.assumeRole, roleArn, this.roles.clock);
    }
    const config = { region: region ?? base.region, credentials, requestHandler: base.requestHandler };
    return { ec2: new EC2Client(config), elasticache: new ElastiCacheClient(config) };
  }
}
