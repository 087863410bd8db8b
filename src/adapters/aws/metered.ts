/**
 * Counts every call through an AWS port (Firewall, ClusterDirectory) in `cache_access_aws_calls_total`,
 * by action and error code: UpstreamError's AWS code, else the error's name, or `ok`. It wraps the
 * ports rather than the SDK clients so calls through other regions' and accounts' clients count too,
 * and every method of the port, present or added later, is counted.
 */
import type { ClusterDirectory, Firewall } from '../../app/ports.js';
import { UpstreamError } from '../../domain/errors.js';
import type { Metrics } from '../metrics.js';

/** The AWS API action behind a port method, where there is exactly one; else the method's name. */
const ACTIONS: Record<string, string> = {
  authorize: 'AuthorizeSecurityGroupIngress',
  revoke: 'RevokeSecurityGroupIngress',
  ruleExists: 'DescribeSecurityGroupRules',
  listTaggedRules: 'DescribeSecurityGroupRules',
  findSecurityGroup: 'DescribeSecurityGroups',
  findPeering: 'DescribeVpcPeeringConnections',
};

export function meteredAws<T extends Firewall | ClusterDirectory>(port: T, metrics: Metrics): T {
  return new Proxy(port, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      const action = ACTIONS[key] ?? key;
      return async (...args: unknown[]) => {
        try {
          const result: unknown = await value.apply(target, args);
          metrics.awsCalls.inc({ action, code: 'ok' });
          return result;
        } catch (error) {
          metrics.awsCalls.inc({ action, code: codeOf(error) });
          throw error;
        }
      };
    },
  });
}

function codeOf(error: unknown): string {
  if (error instanceof UpstreamError) return error.upstreamCode;
  return error instanceof Error ? error.name : 'unknown';
}
