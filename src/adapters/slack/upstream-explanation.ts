/**
 * Plain words for a failed call to AWS, Redis, PostgreSQL or Slack, chosen from its code alone. The services' own
 * messages carry account ids, role ARNs, hosts and ports: they go to the log, never to Slack.
 */
import type { UpstreamError } from '../../domain/errors.js';

/** First match wins: throttling before quotas, since "RequestLimitExceeded" is AWS's throttling code. */
const AWS_MEANINGS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Throttl|RequestLimitExceeded|TooManyRequests|SlowDown/i, 'AWS is limiting how often cache-access may call it.'],
  [
    /AccessDenied|Unauthorized|NotAuthorized|AuthFailure|Forbidden|ExpiredToken|InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch|AssumeRole|Credentials/i,
    "cache-access's AWS role is not allowed to do this; its IAM permissions need fixing.",
  ],
  [/NotFound/i, 'AWS does not know the security group or cluster involved (deleted, or in another account or region).'],
  [/LimitExceeded/i, 'An AWS quota was reached, such as the number of rules a security group may hold.'],
  [/Timeout|Network|^E[A-Z]+$/, 'cache-access could not reach AWS.'],
];

const LOG_HINT = "Your platform team will find the details in cache-access's log.";

/** What went wrong, for people: the kind of failure and who can fix it, without the service's message. */
export function explainUpstream(service: UpstreamError['service'], code: string): string {
  switch (service) {
    case 'aws':
      return `${AWS_MEANINGS.find(([pattern]) => pattern.test(code))?.[1] ?? 'AWS did not do what cache-access asked.'} ${LOG_HINT}`;
    case 'redis':
      return `cache-access's job queue (Redis) could not take the work. ${LOG_HINT}`;
    case 'postgres':
      return `cache-access's job queue (PostgreSQL) could not take the work. ${LOG_HINT}`;
    case 'slack':
      return `Slack refused a call cache-access made. ${LOG_HINT}`;
    case 'cache':
      return `A node of the cluster could not be reached or refused cache-access's sign-in. ${LOG_HINT}`;
    case 'audit-webhook':
      return `The audit stream's receiver did not take an event; it is sent again later. ${LOG_HINT}`;
  }
}
