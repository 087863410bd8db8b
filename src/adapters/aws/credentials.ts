/**
 * Credentials for another account through an assumed IAM role, cached and refreshed before they
 * expire so a long-lived bot never signs with stale keys.
 */
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { Clock } from '../../app/ports.js';
import { UpstreamError } from '../../domain/errors.js';
import { callAws } from './aws-errors.js';

export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** One STS AssumeRole call. */
export type AssumeRole = (roleArn: string, sessionName: string) => Promise<TemporaryCredentials>;

/** What the AWS SDK accepts as `credentials`: called before each request, so it must be cheap. */
export type CredentialProvider = () => Promise<TemporaryCredentials>;

/** Fresh credentials are fetched this long before the old ones expire (the SDK's own margin is 5 minutes). */
export const REFRESH_BEFORE_EXPIRY_MS = 10 * 60_000;
export const SESSION_NAME = 'cache-access';

/**
 * Credentials of `roleArn`: assumed on first use, reused until REFRESH_BEFORE_EXPIRY_MS before they
 * expire, then assumed again. Callers that ask at the same time share one STS call; a failed call
 * is not cached, so the next request tries again.
 */
export function assumedRoleCredentials(
  assumeRole: AssumeRole,
  roleArn: string,
  clock: Clock,
): CredentialProvider {
  let current: TemporaryCredentials | undefined;
  let inFlight: Promise<TemporaryCredentials> | undefined;
  return async () => {
    if (current && current.expiration.getTime() - clock.now().getTime() > REFRESH_BEFORE_EXPIRY_MS) return current;
    inFlight ??= assumeRole(roleArn, SESSION_NAME).then(
      (credentials) => {
        current = credentials;
        inFlight = undefined;
        return credentials;
      },
      (error: unknown) => {
        inFlight = undefined;
        throw error;
      },
    );
    return inFlight;
  };
}

/** AssumeRole through the bot's own STS client. */
export function stsAssumeRole(sts: STSClient): AssumeRole {
  return async (roleArn, sessionName) => {
    const output = await callAws('AssumeRole', () =>
      sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: 3_600 })),
    );
    const c = output.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new UpstreamError('aws', 'IncompleteCredentials', `STS returned no usable credentials for ${roleArn}.`, true);
    }
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  };
}
