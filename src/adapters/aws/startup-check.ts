/**
 * Start-up check: every cluster the policy names exactly (not by glob) should be describable with the
 * bot's credentials. Each one that is not is logged by name; start-up goes on regardless, since the
 * cluster may appear later or the permission may be fixed without a restart. A Memcached cluster given
 * endSessions is flagged with the file, line and key: Memcached has no way to close a client's connection.
 */
import picomatch from 'picomatch';
import type { Logger } from 'pino';
import type { ClusterDirectory } from '../../app/ports.js';
import type { Policy } from '../../policy.js';

export async function checkPolicyClusters(policy: Policy, directory: ClusterDirectory, logger: Logger): Promise<string[]> {
  const exact = policy.rules.filter((rule) => !picomatch.scan(rule.match).isGlob);
  const missing: string[] = [];
  await Promise.all(
    exact.map(async (rule) => {
      const location = { region: rule.region, roleArn: rule.roleArn };
      try {
        const cluster = await directory.findCluster(rule.match, location);
        if (cluster?.engine === 'memcached' && rule.endSessions) {
          logger.warn(
            { clusterId: rule.match },
            `${rule.endSessionsSetAt}: ${rule.match} runs Memcached, which cannot close a client's connection: endSessions does nothing for it`,
          );
        }
        if (cluster) return;
        logger.warn({ clusterId: rule.match, region: rule.region }, `policy names cluster ${rule.match}, which does not exist or is not visible`);
      } catch (error) {
        logger.warn({ clusterId: rule.match, region: rule.region, err: error }, `cannot describe cluster ${rule.match} named in the policy`);
      }
      missing.push(rule.match);
    }),
  );
  return missing.sort();
}
