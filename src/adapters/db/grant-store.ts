import { asc, eq, inArray, type SQL } from 'drizzle-orm';
import type {
  BreakGlassLimit,
  GrantFacts,
  GrantStore,
  HistoryEvent,
  MessageRef,
  NewHistoryEvent,
  RuleRecord,
  RuleSpec,
} from '../../app/ports.js';
import type { AccessRequest, GrantLocation, NewAccessRequest } from '../../domain/request.js';
import type { AppDatabase } from './open.js';
import { prepareStatements, RequestWrites, type PreparedStatements } from './prepared-statements.js';
import {
  breakGlassSinceWhere,
  holdersWhere,
  liveRulesWhere,
  liveRuleWhere,
  ruleByAwsIdWhere,
  targetGroupFields,
  unremovedRuleWhere,
  unreviewedBreakGlassWhere,
} from './query-parts.js';
import { intendedRuleColumns, toApprovalColumns, toColumns, toHistoryEvent, toRequest, toRequests, toRule, toTargetGroup } from './rows.js';
import { approvals, ingressRules, requests, slackMessages } from './schema.js';
import { missingRule, refusedSave } from './store-errors.js';

type NewEvent = NewHistoryEvent;

/**
 * GrantStore on SQLite. better-sqlite3 is synchronous: each method does its work (and its transaction)
 * at once and answers through the port's Promise; nothing is awaited inside a transaction.
 */
export class SqliteGrantStore implements GrantStore {
  private readonly statements: PreparedStatements;
  private readonly requestWrites: RequestWrites;

  constructor(private readonly db: AppDatabase) {
    this.statements = prepareStatements(db);
    this.requestWrites = new RequestWrites(db);
  }

  async create(
    draft: NewAccessRequest & { facts?: GrantFacts },
    event: NewEvent,
    dedupeKey?: string,
  ): Promise<{ request: AccessRequest; created: boolean }> {
    // IMMEDIATE takes the write lock first, so no other process can slip in the same key between look-up and insert.
    return this.db.transaction(() => this.stored(dedupeKey) ?? this.insertNow({ ...draft, status: 'pending' }, [event], dedupeKey), { behavior: 'immediate' });
  }

  async createBreakGlass(
    opened: NewAccessRequest & { status: AccessRequest['status']; facts?: GrantFacts },
    events: NewEvent[],
    limit: BreakGlassLimit,
    dedupeKey?: string,
  ): Promise<{ request: AccessRequest; created: boolean } | { refused: AccessRequest[] }> {
    // IMMEDIATE: the write lock is held from the count to the insert, so a second attempt counts this one.
    return this.db.transaction(
      () => {
        const stored = this.stored(dedupeKey);
        if (stored) return stored;
        const recent = this.requestsWhere(breakGlassSinceWhere(requests, opened.requesterId, limit.since));
        if (recent.length >= limit.perDay) return { refused: recent };
        return this.insertNow(opened, events, dedupeKey);
      },
      { behavior: 'immediate' },
    );
  }

  /** The request stored under `dedupeKey`, as create answers a redelivery. */
  private stored(dedupeKey: string | undefined): { request: AccessRequest; created: false } | undefined {
    if (dedupeKey === undefined) return undefined;
    const existing = this.statements.requestIdByDedupeKey.get({ dedupeKey });
    return existing && { request: this.requestById(existing.id)!, created: false };
  }

  private insertNow(
    draft: NewAccessRequest & { status: AccessRequest['status']; facts?: GrantFacts },
    events: NewEvent[],
    dedupeKey: string | undefined,
  ): { request: AccessRequest; created: true } {
    const row = this.requestWrites.insert({ ...toColumns({ ...draft, approvals: [], version: 1 }), dedupeKey });
    for (const event of events) this.insertEvent(row.id, event);
    return { request: toRequest(row, []), created: true };
  }

  async get(id: number): Promise<AccessRequest | undefined> {
    return this.requestById(id);
  }

  private requestById(id: number): AccessRequest | undefined {
    const row = this.statements.requestById.get({ id });
    return row && toRequest(row, this.statements.decisionsOf.all({ id }));
  }

  async save(next: AccessRequest, newEvents: NewEvent[]): Promise<void> {
    this.saveNow(next, newEvents);
  }

  private saveNow(next: AccessRequest, newEvents: NewEvent[]): void {
    this.db.transaction(
      (tx) => {
        if (this.requestWrites.update(next.id, next.version - 1, toColumns(next)) === 0) {
          const stored = tx.select({ id: requests.id }).from(requests).where(eq(requests.id, next.id)).get();
          throw refusedSave(next.id, stored !== undefined);
        }
        // Approvals already stored hit the unique (request, user) key and are skipped.
        if (next.approvals.length > 0) tx.insert(approvals).values(toApprovalColumns(next)).onConflictDoNothing().run();
        for (const event of newEvents) this.insertEvent(next.id, event);
      },
      { behavior: 'immediate' },
    );
  }

  async history(id: number): Promise<HistoryEvent[]> {
    return this.statements.eventsOf.all({ id }).map(toHistoryEvent);
  }

  async findByStatus(status: AccessRequest['status']): Promise<AccessRequest[]> {
    return this.requestsWhere(eq(requests.status, status));
  }

  async unreviewedBreakGlass(): Promise<AccessRequest[]> {
    return this.requestsWhere(unreviewedBreakGlassWhere(requests));
  }

  /** The requests matching `condition`, oldest first, with their approvals. */
  private requestsWhere(condition: SQL | undefined): AccessRequest[] {
    const rows = this.db.select().from(requests).where(condition).orderBy(asc(requests.id)).all();
    if (rows.length === 0) return [];
    const decisions = this.db
      .select()
      .from(approvals)
      .where(inArray(approvals.requestId, rows.map((r) => r.id)))
      .orderBy(asc(approvals.id))
      .all();
    return toRequests(rows, decisions);
  }

  async addMessageRefs(refs: MessageRef[]): Promise<void> {
    if (refs.length === 0) return;
    // A ref recorded twice (a retried job) is the same message: keep one row.
    this.db.insert(slackMessages).values(refs).onConflictDoNothing().run();
  }

  async messageRefs(requestId: number): Promise<MessageRef[]> {
    return this.statements.messageRefsOf.all({ id: requestId });
  }

  async recordEvent(requestId: number, event: NewEvent): Promise<void> {
    this.insertEvent(requestId, event);
  }

  async recordRuleIntent(next: AccessRequest, spec: RuleSpec, newEvents: NewEvent[]): Promise<RuleRecord> {
    return this.db.transaction(
      (tx) => {
        const row = tx
          .insert(ingressRules)
          .values(intendedRuleColumns(spec, next, newEvents))
          .returning()
          .get();
        // Same transaction: a ConflictError in save rolls the rule record back too.
        this.saveNow({ ...next, ruleRecordId: row.id }, newEvents);
        return toRule(row);
      },
      { behavior: 'immediate' },
    );
  }

  async getRule(id: number): Promise<RuleRecord | undefined> {
    return this.ruleById(id);
  }

  private ruleById(id: number): RuleRecord | undefined {
    return this.ruleWhere(eq(ingressRules.id, id));
  }

  async findRuleByAwsId(awsRuleId: string): Promise<RuleRecord | undefined> {
    return this.ruleWhere(ruleByAwsIdWhere(ingressRules, awsRuleId));
  }

  async findLiveRule(spec: RuleSpec): Promise<RuleRecord | undefined> {
    return this.ruleWhere(liveRuleWhere(ingressRules, spec));
  }

  /** The rule matching `condition`; of several, whichever SQLite reads first. */
  private ruleWhere(condition: SQL | undefined): RuleRecord | undefined {
    const row = this.db.select().from(ingressRules).where(condition).get();
    return row && toRule(row);
  }

  async markRuleInPlace(id: number, awsRuleId: string, origin: RuleRecord['origin']): Promise<void> {
    const { changes } = this.db
      .update(ingressRules)
      .set({ state: 'in-place', awsRuleId, origin })
      .where(eq(ingressRules.id, id))
      .run();
    if (changes === 0) throw missingRule(id);
  }

  async releaseRule(id: number, requestId?: number): Promise<'shared' | 'keep' | 'remove' | 'gone'> {
    return this.db.transaction(
      (tx) => {
        const rule = tx.select().from(ingressRules).where(eq(ingressRules.id, id)).get();
        if (!rule) throw missingRule(id);
        if (rule.state === 'removed') return 'gone';
        const others = tx.select({ id: requests.id }).from(requests).where(holdersWhere(requests, id, requestId)).all();
        if (others.length > 0) return 'shared';
        if (rule.origin === 'pre-existing') return 'keep';
        tx.update(ingressRules).set({ state: 'removing' }).where(eq(ingressRules.id, id)).run();
        return 'remove';
      },
      { behavior: 'immediate' },
    );
  }

  async holdersOf(id: number): Promise<AccessRequest[]> {
    return this.db
      .select({ id: requests.id })
      .from(requests)
      .where(holdersWhere(requests, id))
      .orderBy(asc(requests.id))
      .all()
      .map((row) => this.requestById(row.id)!);
  }

  async liveRules(): Promise<RuleRecord[]> {
    return this.db
      .select()
      .from(ingressRules)
      .where(liveRulesWhere(ingressRules))
      .orderBy(asc(ingressRules.id))
      .all()
      .map(toRule);
  }

  async targetGroups(): Promise<Array<{ securityGroupId: string; clusterId: string; location?: GrantLocation }>> {
    return this.db
      .selectDistinct(targetGroupFields(requests))
      .from(requests)
      .orderBy(asc(requests.targetGroupId), asc(requests.clusterId))
      .all()
      .map(toTargetGroup);
  }

  async markRuleRemoved(id: number, now: Date): Promise<void> {
    // A repeated removal (a retried revoke) keeps the first removal time.
    const { changes } = this.db
      .update(ingressRules)
      .set({ state: 'removed', removedAt: now })
      .where(unremovedRuleWhere(ingressRules, id))
      .run();
    if (changes === 0 && !this.ruleById(id)) throw missingRule(id);
  }

  private insertEvent(requestId: number, event: NewEvent): void {
    this.statements.insertEvent.run({
      requestId,
      at: event.at,
      actor: event.actor,
      type: event.type,
      detailJson: event.detail === undefined ? null : JSON.stringify(event.detail),
    });
  }
}
