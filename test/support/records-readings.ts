/** Everything the read APIs (GrantStore, RecordsReader, AuditOutbox) say about a set of records, to compare two engines' copies. */
import type { Records } from '../../src/adapters/db/records.js';
import { STATUSES } from '../../src/domain/request.js';

export async function readingsOf(records: Records, requestIds: number[], ruleIds: number[]) {
  const { store, reader, auditOutbox } = records;
  const each = <T>(ids: number[], read: (id: number) => Promise<T>) => Promise.all(ids.map(read));
  return {
    requests: await each(requestIds, (id) => store.get(id)),
    histories: await each(requestIds, (id) => store.history(id)),
    messageRefs: await each(requestIds, (id) => store.messageRefs(id)),
    holders: await each(ruleIds, (id) => store.holdersOf(id)),
    rules: await each(ruleIds, (id) => store.getRule(id)),
    byStatus: await Promise.all(STATUSES.map((status) => store.findByStatus(status))),
    unreviewedBreakGlass: await store.unreviewedBreakGlass(),
    liveRules: await store.liveRules(),
    targetGroups: await store.targetGroups(),
    auditLog: await reader.eventsSince(new Date(0)),
    unreviewedAuditLog: await reader.eventsSince(new Date(0), { unreviewedBreakGlass: true }),
    countsByStatus: await reader.requestCountsByStatus(),
    decisionCounts: await reader.decisionCounts(),
    undelivered: await each(requestIds, (id) => auditOutbox.undelivered(id, 1000)),
    requestsWithUndelivered: await auditOutbox.requestsWithUndelivered(1000),
    backlog: await auditOutbox.backlog(),
  };
}
