import type { UseCaseDeps } from './deps.js';
import type { AwsLocation } from './ports.js';

/**
 * Where a cluster's AWS calls go: the region and role of the policy rule that covers it, else the
 * bot's own account and region. Read from the current policy, as requests are.
 */
export function locationOf(deps: UseCaseDeps, clusterId: string): AwsLocation {
  const rule = deps.policy().ruleFor(clusterId);
  return { region: rule?.region, roleArn: rule?.roleArn };
}

/** A key that is equal for equal locations, for grouping AWS calls by place. */
export function locationKey(location: AwsLocation): string {
  return `${location.region ?? ''}|${location.roleArn ?? ''}`;
}
