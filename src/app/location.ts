import type { GrantLocation } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import type { AwsLocation } from './ports.js';

/**
 * Where AWS calls about a grant or rule go. `verified` is true when the place is the one recorded when
 * the request was made: only there may "no such group or rule" be taken to mean the rule is gone.
 */
export interface ResolvedLocation {
  location: AwsLocation;
  verified: boolean;
}

/**
 * The recorded location of a grant or rule. Records older than the location columns know their account
 * and region but not their role: for those the role of the policy rule now covering `clusterId` is a
 * guess, good enough to try a revoke but not to believe a "not found".
 */
export function recordedLocation(deps: UseCaseDeps, recorded: GrantLocation | undefined, clusterId: string): ResolvedLocation {
  if (recorded?.known) return { location: { region: recorded.region, roleArn: recorded.roleArn }, verified: true };
  const rule = deps.policy().ruleFor(clusterId);
  return { location: { region: recorded?.region ?? rule?.region, roleArn: rule?.roleArn }, verified: false };
}

/** A key that is equal for equal locations, for grouping AWS calls by place. */
export function locationKey(location: AwsLocation): string {
  return `${location.region ?? ''}|${location.roleArn ?? ''}`;
}
