import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { BreakGlassLimit, GrantFacts, GrantStore, HistoryEvent, MessageRef, NewHistoryEvent, RuleRecord, RuleSpec } from '../../../app/ports.js';
import type { AccessRequest, GrantLocation, NewAccessRequest } from '../../../domain/request.js';
import {
  breakGlassSinceWhere,
  holdersWhere,
  liveRulesWhere,
  liveRuleWhere,
  messageRefFields,
  ruleByAwsIdWhere,
  targetGroupFields,
  unremovedRuleWhere,
  unreviewedBreakGlassWhere,
} from '../query-parts.js';
import {
  intendedRuleColumns,
  toApprovalColumns,
  toColumns,
  toHistoryEvent,
  toRequest,
  toRequests,
  toRule,
  toTargetGroup,
  type RequestRow,
} from '../rows.js';
import { missingRule, refusedSave } from '../store-errors.js';
import type { PostgresDatabase } from './open.js';
import { approvals, events, ingressRules, requests, slackMessages } from './schema.js';

/** Namespaces the per-requester advisory lock that serializes break-glass attempts. */
const BREAK_GLASS_LOCK_PREFIX = 'cache-access:break-glass:';

/** The database, or a transaction on it: what one step of a method runs on. */
type Runner = Pick<PostgresDatabase, 'select' | 'insert' | 'update' | 'selectDistinct'>;

/**
 * GrantStore on PostgreSQL, for several processes on several hosts. Saves are versioned (a stale one throws
 * ConflictError); what must be exclusive takes the database's locks: a unique key for create's dedupe,
 * SELECT … FOR UPDATE on the rule in releaseRule, and a transaction advisory lock per requester in createBreakGlass.
 */
export class PostgresGrantStore implements GrantStore {
  constructor(private readonly db: PostgresDatabase) {}

  async create(
    draft: NewAccessRequest & { facts?: GrantFacts },
    event: NewHistoryEvent,
    dedupeKey?: string,
  ): Promise<{ request: AccessRequest; created: boolean }> {
    return this.db.transaction((tx) => insertOnce(tx, { ...draft, status: 'pending' }, [event], dedupeKey));
  }

  async createBreakGlass(
    opened: NewAccessRequest & { status: AccessRequest['status']; facts?: GrantFacts },
    events: NewHistoryEvent[],
    limit: BreakGlassLimit,
    dedupeKey?: string,
  ): Promise<{ request: AccessRequest; created: boolean } | { refused: AccessRequest[] }> {
    return this.db.transaction(async (tx) => {
      // Held until commit: a second attempt by the same person waits here, then counts this one.
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${BREAK_GLASS_LOCK_PREFIX + opened.requesterId}, 0))`);
      if (dedupeKey !== undefined) {
        const stored = await tx.select().from(requests).where(eq(requests.dedupeKey, dedupeKey));
        if (stored.length > 0) return { request: (await withDecisions(tx, stored))[0]!, created: false };
      }
      const recent = await tx
        .select()
        .from(requests)
        .where(breakGlassSinceWhere(requests, opened.requesterId, limit.since))
        .orderBy(asc(requests.id));
      if (recent.length >= limit.perDay) return { refused: await withDecisions(tx, recent) };
      return insertOnce(tx, opened, events, dedupeKey);
    });
  }

  async get(id: number): Promise<AccessRequest | undefined> {
    const rows = await this.db.select().from(requests).where(eq(requests.id, id));
    return (await withDecisions(this.db, rows))[0];
  }

  async save(next: AccessRequest, newEvents: NewHistoryEvent[]): Promise<void> {
    await this.db.transaction((tx) => saveIn(tx, next, newEvents));
  }

  async history(id: number): Promise<HistoryEvent[]> {
    const rows = await this.db.select().from(events).where(eq(events.requestId, id)).orderBy(asc(events.id));
    return rows.map(toHistoryEvent);
  }

  async findByStatus(status: AccessRequest['status']): Promise<AccessRequest[]> {
    return this.requestsWhere(eq(requests.status, status));
  }

  async unreviewedBreakGlass(): Promise<AccessRequest[]> {
    return this.requestsWhere(unreviewedBreakGlassWhere(requests));
  }

  /** The requests matching `condition`, oldest first, with their approvals. */
  private async requestsWhere(condition: SQL | undefined): Promise<AccessRequest[]> {
    return withDecisions(this.db, await this.db.select().from(requests).where(condition).orderBy(asc(requests.id)));
  }

  async addMessageRefs(refs: MessageRef[]): Promise<void> {
    if (refs.length === 0) return;
    await this.db.insert(slackMessages).values(refs).onConflictDoNothing();
  }

  async messageRefs(requestId: number): Promise<MessageRef[]> {
    return this.db
      .select(messageRefFields(slackMessages))
      .from(slackMessages)
      .where(eq(slackMessages.requestId, requestId))
      .orderBy(asc(slackMessages.id));
  }

  async recordEvent(requestId: number, event: NewHistoryEvent): Promise<void> {
    await insertEvents(this.db, requestId, [event]);
  }

  async recordRuleIntent(next: AccessRequest, spec: RuleSpec, newEvents: NewHistoryEvent[]): Promise<RuleRecord> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(ingressRules)
        .values(intendedRuleColumns(spec, next, newEvents))
        .returning();
      // Same transaction: a ConflictError in the save rolls the rule record back too.
      await saveIn(tx, { ...next, ruleRecordId: row!.id }, newEvents);
      return toRule(row!);
    });
  }

  async getRule(id: number): Promise<RuleRecord | undefined> {
    const [row] = await this.db.select().from(ingressRules).where(eq(ingressRules.id, id));
    return row && toRule(row);
  }

  async findRuleByAwsId(awsRuleId: string): Promise<RuleRecord | undefined> {
    return this.firstRule(ruleByAwsIdWhere(ingressRules, awsRuleId));
  }

  async findLiveRule(spec: RuleSpec): Promise<RuleRecord | undefined> {
    return this.firstRule(liveRuleWhere(ingressRules, spec));
  }

  /** The oldest rule matching `condition`. */
  private async firstRule(condition: SQL | undefined): Promise<RuleRecord | undefined> {
    const [row] = await this.db.select().from(ingressRules).where(condition).orderBy(asc(ingressRules.id)).limit(1);
    return row && toRule(row);
  }

  async markRuleInPlace(id: number, awsRuleId: string, origin: RuleRecord['origin']): Promise<void> {
    const changed = await this.db.update(ingressRules).set({ state: 'in-place', awsRuleId, origin }).where(eq(ingressRules.id, id)).returning({ id: ingressRules.id });
    if (changed.length === 0) throw missingRule(id);
  }

  async releaseRule(id: number, requestId?: number): Promise<'shared' | 'keep' | 'remove' | 'gone'> {
    return this.db.transaction(async (tx) => {
      // The row lock makes releases of one rule take turns across processes and hosts; the holders are read after it.
      const [rule] = await tx.select().from(ingressRules).where(eq(ingressRules.id, id)).for('update');
      if (!rule) throw missingRule(id);
      if (rule.state === 'removed') return 'gone';
      const others = await tx.select({ id: requests.id }).from(requests).where(holdersWhere(requests, id, requestId)).limit(1);
      if (others.length > 0) return 'shared';
      if (rule.origin === 'pre-existing') return 'keep';
      await tx.update(ingressRules).set({ state: 'removing' }).where(eq(ingressRules.id, id));
      return 'remove';
    });
  }

  async markRuleRemoved(id: number, now: Date): Promise<void> {
    // A repeated removal (a retried revoke) keeps the first removal time.
    const changed = await this.db
      .update(ingressRules)
      .set({ state: 'removed', removedAt: now })
      .where(unremovedRuleWhere(ingressRules, id))
      .returning({ id: ingressRules.id });
    if (changed.length === 0 && !(await this.getRule(id))) throw missingRule(id);
  }

  async holdersOf(id: number): Promise<AccessRequest[]> {
    const rows = await this.db
      .select()
      .from(requests)
      .where(holdersWhere(requests, id))
      .orderBy(asc(requests.id));
    return withDecisions(this.db, rows);
  }

  async liveRules(): Promise<RuleRecord[]> {
    const rows = await this.db.select().from(ingressRules).where(liveRulesWhere(ingressRules)).orderBy(asc(ingressRules.id));
    return rows.map(toRule);
  }

  async targetGroups(): Promise<Array<{ securityGroupId: string; clusterId: string; location?: GrantLocation }>> {
    const rows = await this.db
      .selectDistinct(targetGroupFields(requests))
      .from(requests)
      .orderBy(asc(requests.targetGroupId), asc(requests.clusterId));
    return rows.map(toTargetGroup);
  }
}

/** Stores a new request and its first events; a redelivery (same `dedupeKey`) gets the stored request. */
async function insertOnce(
  tx: Runner,
  draft: NewAccessRequest & { status: AccessRequest['status']; facts?: GrantFacts },
  newEvents: NewHistoryEvent[],
  dedupeKey: string | undefined,
): Promise<{ request: AccessRequest; created: boolean }> {
  // A second insert with the key waits for the first to commit, then inserts nothing.
  const [row] = await tx
    .insert(requests)
    .values({ ...toColumns({ ...draft, approvals: [], version: 1 }), dedupeKey })
    .onConflictDoNothing({ target: requests.dedupeKey })
    .returning();
  if (!row) {
    const [existing] = await tx.select().from(requests).where(eq(requests.dedupeKey, dedupeKey!));
    return { request: (await withDecisions(tx, [existing!]))[0]!, created: false };
  }
  await insertEvents(tx, row.id, newEvents);
  return { request: toRequest(row, []), created: true };
}

async function saveIn(tx: Runner, next: AccessRequest, newEvents: NewHistoryEvent[]): Promise<void> {
  // Under READ COMMITTED a second writer of the row waits for the first, then finds the version moved.
  const updated = await tx
    .update(requests)
    .set(toColumns(next))
    .where(and(eq(requests.id, next.id), eq(requests.version, next.version - 1)))
    .returning({ id: requests.id });
  if (updated.length === 0) {
    const [stored] = await tx.select({ id: requests.id }).from(requests).where(eq(requests.id, next.id));
    throw refusedSave(next.id, stored !== undefined);
  }
  // Approvals already stored hit the unique (request, user) key and are skipped.
  if (next.approvals.length > 0) await tx.insert(approvals).values(toApprovalColumns(next)).onConflictDoNothing();
  await insertEvents(tx, next.id, newEvents);
}

async function insertEvents(tx: Runner, requestId: number, newEvents: NewHistoryEvent[]): Promise<void> {
  if (newEvents.length === 0) return;
  await tx.insert(events).values(
    newEvents.map((event) => ({
      requestId,
      at: event.at,
      actor: event.actor,
      type: event.type,
      detail: (event.detail ?? null) as Record<string, unknown> | null,
    })),
  );
}

/** The requests with their approvals, oldest approval first. */
async function withDecisions(tx: Runner, rows: RequestRow[]): Promise<AccessRequest[]> {
  if (rows.length === 0) return [];
  const decisions = await tx
    .select()
    .from(approvals)
    .where(inArray(approvals.requestId, rows.map((r) => r.id)))
    .orderBy(asc(approvals.id));
  return toRequests(rows, decisions);
}
