import { and, asc, eq, gte, inArray, isNull, ne, sql, type SQL } from 'drizzle-orm';
import type { BreakGlassLimit, GrantFacts, GrantStore, HistoryEvent, MessageRef, NewHistoryEvent, RuleRecord, RuleSpec } from '../../../app/ports.js';
import { ConflictError, NotFoundError } from '../../../domain/errors.js';
import type { AccessRequest, Decision, GrantLocation, NewAccessRequest } from '../../../domain/request.js';
import { intendedRuleColumns, LIVE_STATUSES, toColumns, toLocation, toRequest, toRule, toSourceColumns, type RequestRow } from '../rows.js';
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
        .where(and(eq(requests.breakGlass, true), eq(requests.requesterId, opened.requesterId), gte(requests.createdAt, limit.since)))
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
    return rows.map((row) => ({ requestId: row.requestId, at: row.at, actor: row.actor, type: row.type, detail: row.detail ?? undefined }) as HistoryEvent);
  }

  async findByStatus(status: AccessRequest['status']): Promise<AccessRequest[]> {
    return this.requestsWhere(eq(requests.status, status));
  }

  async unreviewedBreakGlass(): Promise<AccessRequest[]> {
    return this.requestsWhere(and(eq(requests.breakGlass, true), isNull(requests.reviewedBy)));
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
      .select({ requestId: slackMessages.requestId, kind: slackMessages.kind, channel: slackMessages.channel, ts: slackMessages.ts })
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
    const [row] = await this.db
      .select()
      .from(ingressRules)
      .where(and(eq(ingressRules.awsRuleId, awsRuleId), ne(ingressRules.state, 'removed')))
      .orderBy(asc(ingressRules.id))
      .limit(1);
    return row && toRule(row);
  }

  async findLiveRule(spec: RuleSpec): Promise<RuleRecord | undefined> {
    const source = toSourceColumns(spec.source);
    const [row] = await this.db
      .select()
      .from(ingressRules)
      .where(
        and(
          eq(ingressRules.securityGroupId, spec.securityGroupId),
          eq(ingressRules.protocol, spec.protocol),
          eq(ingressRules.port, spec.port),
          eq(ingressRules.sourceKind, source.sourceKind),
          eq(ingressRules.source, source.source),
          eq(ingressRules.state, 'in-place'),
        ),
      )
      .orderBy(asc(ingressRules.id))
      .limit(1);
    return row && toRule(row);
  }

  async markRuleInPlace(id: number, awsRuleId: string, origin: RuleRecord['origin']): Promise<void> {
    const changed = await this.db.update(ingressRules).set({ state: 'in-place', awsRuleId, origin }).where(eq(ingressRules.id, id)).returning({ id: ingressRules.id });
    if (changed.length === 0) throw new NotFoundError(`Ingress rule record ${id} does not exist.`);
  }

  async releaseRule(id: number, requestId?: number): Promise<'shared' | 'keep' | 'remove' | 'gone'> {
    return this.db.transaction(async (tx) => {
      // The row lock makes releases of one rule take turns across processes and hosts; the holders are read after it.
      const [rule] = await tx.select().from(ingressRules).where(eq(ingressRules.id, id)).for('update');
      if (!rule) throw new NotFoundError(`Ingress rule record ${id} does not exist.`);
      if (rule.state === 'removed') return 'gone';
      const others = await tx
        .select({ id: requests.id })
        .from(requests)
        .where(
          and(
            eq(requests.ruleRecordId, id),
            inArray(requests.status, LIVE_STATUSES),
            requestId === undefined ? undefined : ne(requests.id, requestId),
          ),
        )
        .limit(1);
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
      .where(and(eq(ingressRules.id, id), ne(ingressRules.state, 'removed')))
      .returning({ id: ingressRules.id });
    if (changed.length === 0 && !(await this.getRule(id))) throw new NotFoundError(`Ingress rule record ${id} does not exist.`);
  }

  async holdersOf(id: number): Promise<AccessRequest[]> {
    const rows = await this.db
      .select()
      .from(requests)
      .where(and(eq(requests.ruleRecordId, id), inArray(requests.status, LIVE_STATUSES)))
      .orderBy(asc(requests.id));
    return withDecisions(this.db, rows);
  }

  async liveRules(): Promise<RuleRecord[]> {
    const rows = await this.db.select().from(ingressRules).where(inArray(ingressRules.state, ['in-place', 'removing'])).orderBy(asc(ingressRules.id));
    return rows.map(toRule);
  }

  async targetGroups(): Promise<Array<{ securityGroupId: string; clusterId: string; location?: GrantLocation }>> {
    const rows = await this.db
      .selectDistinct({
        securityGroupId: requests.targetGroupId,
        clusterId: requests.clusterId,
        awsAccountId: requests.awsAccountId,
        awsRegion: requests.awsRegion,
        awsRoleArn: requests.awsRoleArn,
        awsLocationKnown: requests.awsLocationKnown,
      })
      .from(requests)
      .orderBy(asc(requests.targetGroupId), asc(requests.clusterId));
    return rows.map(({ securityGroupId, clusterId, ...columns }) => {
      const location = toLocation(columns);
      return location ? { securityGroupId, clusterId, location } : { securityGroupId, clusterId };
    });
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
    if (!stored) throw new NotFoundError(`Request #${next.id} does not exist.`);
    throw new ConflictError(`#${next.id} was changed by someone else at the same time; try again.`);
  }
  if (next.approvals.length > 0) {
    // Approvals already stored hit the unique (request, user) key and are skipped.
    await tx
      .insert(approvals)
      .values(next.approvals.map((a) => ({ requestId: next.id, userId: a.userId, at: a.at })))
      .onConflictDoNothing();
  }
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
  const byRequest = new Map<number, Decision[]>();
  for (const a of decisions) byRequest.set(a.requestId, [...(byRequest.get(a.requestId) ?? []), { userId: a.userId, at: a.at }]);
  return rows.map((row) => toRequest(row, byRequest.get(row.id) ?? []));
}
