/** The database readings behind the metrics gauges: cheap aggregate queries run on each scrape. */
import type Database from 'better-sqlite3';
import type { MetricSources } from '../metrics.js';

export function sqliteMetricSources(sqlite: Database.Database, now: () => Date): Omit<MetricSources, 'queueDepths'> {
  const byStatus = sqlite.prepare('select status, count(*) as n from requests group by status');
  const decisions = sqlite.prepare("select type, count(*) as n from events where type in ('approved', 'denied') group by type");
  const overdue = sqlite.prepare("select count(*) as n from requests where status = 'active' and expires_at <= ?");
  const counts = (rows: unknown[]) => Object.fromEntries((rows as Array<{ n: number } & Record<string, string>>).map((r) => [r.status ?? r.type, r.n]));
  return {
    requestsByStatus: () => counts(byStatus.all()),
    decisions: () => counts(decisions.all()),
    overdueRevocations: () => (overdue.get(now().getTime()) as { n: number }).n,
  };
}
