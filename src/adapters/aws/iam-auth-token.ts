/**
 * ElastiCache IAM authentication tokens: a SigV4-presigned `connect` request for an ElastiCache user,
 * host the replication group (or cache cluster) id, valid 15 minutes, with the scheme left off. The
 * token is the AUTH password, the user its user name. Signed by the SDK's own signer, no crypto of ours.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, ChecksumConstructor, HashConstructor, Provider } from '@smithy/types';

/** ElastiCache accepts a token for 15 minutes after it is signed. */
export const TOKEN_LIFETIME_SECONDS = 900;

export interface TokenSigning {
  region: string;
  credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  /** The SDK's SHA-256 (an SDK client's `config.sha256`). */
  sha256: ChecksumConstructor | HashConstructor;
  signingDate: Date;
}

export async function elastiCacheAuthToken(cacheId: string, user: string, signing: TokenSigning): Promise<string> {
  const signer = new SignatureV4({ service: 'elasticache', region: signing.region, credentials: signing.credentials, sha256: signing.sha256 });
  const presigned = await signer.presign(
    { method: 'GET', protocol: 'http:', hostname: cacheId, path: '/', headers: { host: cacheId }, query: { Action: 'connect', User: user } },
    { expiresIn: TOKEN_LIFETIME_SECONDS, signingDate: signing.signingDate },
  );
  const query = Object.entries(presigned.query ?? {})
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join('&');
  return `${cacheId}/?${query}`;
}
