/**
 * SessionCredentials from AWS: an IAM authentication token signed with the credentials that reach the
 * cluster's account, or a secret from Secrets Manager (kept a few minutes, never logged).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsLocation, Clock, ClusterInfo, NodeCredentials, SessionCredentials } from '../../app/ports.js';
import { UpstreamError } from '../../domain/errors.js';
import type { EndSessions } from '../../policy.js';
import { callAws } from './aws-errors.js';
import type { AwsClientPool } from './client-pool.js';
import { elastiCacheAuthToken } from './iam-auth-token.js';

/** A rotated secret is picked up within this long. */
const SECRET_CACHE_MS = 5 * 60_000;

export class AwsSessionCredentials implements SessionCredentials {
  private readonly secrets = new Map<string, { at: number; value: NodeCredentials }>();
  private readonly secretClients = new Map<string, SecretsManagerClient>();

  constructor(
    private readonly clients: AwsClientPool,
    private readonly clock: Clock,
  ) {}

  async forCluster(auth: EndSessions, cluster: ClusterInfo, location?: AwsLocation): Promise<NodeCredentials> {
    switch (auth.auth) {
      case 'none':
        return {};
      case 'iam': {
        const { config } = this.clients.for(location).ec2;
        const region = cluster.region || (await config.region());
        const password = await elastiCacheAuthToken(cluster.id, auth.user, {
          region,
          credentials: config.credentials,
          sha256: config.sha256,
          signingDate: this.clock.now(),
        });
        return { username: auth.user, password };
      }
      case 'secret':
        return this.secret(auth.secretArn, location);
    }
  }

  private async secret(arn: string, location?: AwsLocation): Promise<NodeCredentials> {
    const now = this.clock.now().getTime();
    const kept = this.secrets.get(arn);
    if (kept && now - kept.at < SECRET_CACHE_MS) return kept.value;
    const output = await callAws('GetSecretValue', () => this.secretsClient(arn, location).send(new GetSecretValueCommand({ SecretId: arn })));
    if (output.SecretString === undefined) {
      throw new UpstreamError('aws', 'SecretNotText', `Secret ${arn} holds no text: store the AUTH token, or {"username", "password"}.`, false);
    }
    const value = credentialsIn(output.SecretString);
    this.secrets.set(arn, { at: now, value });
    return value;
  }

  /**
   * A client in the secret's own region, with the credentials that reach the cluster's account. It shares the
   * bot's HTTP handler, so destroying the bot's own clients at shutdown closes its sockets too.
   */
  private secretsClient(arn: string, location?: AwsLocation): SecretsManagerClient {
    const region = arn.split(':')[3]!;
    const key = `${region} ${location?.roleArn ?? ''}`;
    let client = this.secretClients.get(key);
    if (!client) {
      const { config } = this.clients.for(location).ec2;
      client = new SecretsManagerClient({ region, credentials: config.credentials, requestHandler: config.requestHandler });
      this.secretClients.set(key, client);
    }
    return client;
  }
}

/** `{"username": …, "password": …}` (RBAC user), `{"password": …}`, or the AUTH token itself as plain text. */
export function credentialsIn(secret: string): NodeCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret);
  } catch {
    return { password: secret };
  }
  if (typeof parsed !== 'object' || parsed === null) return { password: secret };
  const { username, password } = parsed as Record<string, unknown>;
  if (typeof password !== 'string') {
    throw new UpstreamError('aws', 'SecretShape', 'The secret is JSON without a "password" string: store {"username", "password"} or the AUTH token alone.', false);
  }
  return typeof username === 'string' ? { username, password } : { password };
}
