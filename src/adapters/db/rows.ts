/**
 * Rows to records and back, the same for both engines: the SQLite and PostgreSQL schemas declare the same
 * columns with the same TypeScript types (dates, JSON, booleans), so a row of either maps alike.
 */
import type { HistoryEvent, NewHistoryEvent, PeeredSource, RequestWithFacts, RuleRecord, RuleSpec, SourcePeering } from '../../app/ports.js';
import type { AccessRequest, BreakGlass, Decision, GrantLocation, Source } from '../../domain/request.js';
import type { approvals, events, ingressRules, requests } from './schema.js';

export type RequestRow = typeof requests.$inferSelect;
export type RequestColumns = Omit<typeof requests.$inferInsert, 'id' | 'dedupeKey'>;
export type RuleRow = typeof ingressRules.$inferSelect;
type RuleColumns = Omit<typeof ingressRules.$inferInsert, 'id'>;
type ApprovalColumns = Omit<typeof approvals.$inferInsert, 'id'>;
type EventRow = Omit<typeof events.$inferSelect, 'id' | 'auditDeliveredAt'>;

/** Grants that hold their rule: approved (being put in place) or active. */
export const LIVE_STATUSES: Array<AccessRequest['status']> = ['approved', 'active'];

export function toColumns(request: Omit<RequestWithFacts, 'id'>): RequestColumns {
  return {
    // Written when present only: a save of a request loaded without them must not erase them.
    ...(request.facts ? { facts: request.facts } : {}),
    status: request.status,
    requesterId: request.requesterId,
    requesterName: request.requesterName,
    clusterId: request.clusterId,
    engine: request.engine,
    endpoint: request.endpoint,
    port: request.port,
    vpcId: request.vpcId,
    targetGroupId: request.targetGroupId,
    ...toSourceColumns(request.source),
    ...toLocationColumns(request.location),
    durationSeconds: request.durationSeconds,
    reason: request.reason,
    policyMatch: request.policyMatch,
    approvalsRequired: request.approvalsRequired,
    deniedBy: request.deniedBy?.userId ?? null,
    deniedAt: request.deniedBy?.at ?? null,
    createdAt: request.createdAt,
    approvedAt: request.approvedAt ?? null,
    activatedAt: request.activatedAt ?? null,
    expiresAt: request.expiresAt ?? null,
    endedAt: request.endedAt ?? null,
    endedBy: request.endedBy ?? null,
    failureCode: request.failure?.code ?? null,
    failureMessage: request.failure?.message ?? null,
    ruleRecordId: request.ruleRecordId ?? null,
    breakGlass: request.breakGlass !== undefined,
    reviewedBy: request.breakGlass?.reviewedBy?.userId ?? null,
    reviewedAt: request.breakGlass?.reviewedBy?.at ?? null,
    version: request.version,
  };
}

export function toRequest(row: RequestRow, decisions: Decision[]): RequestWithFacts {
  return {
    ...(row.facts ? { facts: row.facts } : {}),
    id: row.id,
    status: row.status,
    requesterId: row.requesterId,
    requesterName: row.requesterName,
    clusterId: row.clusterId,
    engine: row.engine,
    endpoint: row.endpoint,
    port: row.port,
    vpcId: row.vpcId,
    targetGroupId: row.targetGroupId,
    source: toSource(row.sourceKind, row.source, row.sourcePeering),
    ...withLocation(row),
    durationSeconds: row.durationSeconds,
    reason: row.reason,
    policyMatch: row.policyMatch,
    approvalsRequired: row.approvalsRequired,
    approvals: decisions,
    deniedBy: row.deniedBy !== null && row.deniedAt !== null ? { userId: row.deniedBy, at: row.deniedAt } : undefined,
    createdAt: row.createdAt,
    approvedAt: row.approvedAt ?? undefined,
    activatedAt: row.activatedAt ?? undefined,
    expiresAt: row.expiresAt ?? undefined,
    endedAt: row.endedAt ?? undefined,
    endedBy: row.endedBy ?? undefined,
    failure:
      row.failureCode !== null ? { code: row.failureCode, message: row.failureMessage ?? '' } : undefined,
    ruleRecordId: row.ruleRecordId ?? undefined,
    ...(row.breakGlass ? { breakGlass: toBreakGlass(row) } : {}),
    version: row.version,
  };
}

/** Each request with its approvals; `decisions` oldest first, of any of the requests. */
export function toRequests(rows: RequestRow[], decisions: Array<Decision & { requestId: number }>): AccessRequest[] {
  const byRequest = new Map<number, Decision[]>();
  for (const a of decisions) byRequest.set(a.requestId, [...(byRequest.get(a.requestId) ?? []), { userId: a.userId, at: a.at }]);
  return rows.map((row) => toRequest(row, byRequest.get(row.id) ?? []));
}

/** The request's approvals as rows. */
export function toApprovalColumns(request: AccessRequest): ApprovalColumns[] {
  return request.approvals.map((a) => ({ requestId: request.id, userId: a.userId, at: a.at }));
}

/**
 * An event as this or another version wrote it: a kind this version knows carries its payload
 * (EventDetails); any other kind is read as an UnrecognisedKind, detail and all.
 */
export function toHistoryEvent(row: EventRow): HistoryEvent {
  return { requestId: row.requestId, at: row.at, actor: row.actor, type: row.type, detail: row.detail ?? undefined } as HistoryEvent;
}

function toBreakGlass(row: RequestRow): BreakGlass {
  return row.reviewedBy !== null && row.reviewedAt !== null ? { reviewedBy: { userId: row.reviewedBy, at: row.reviewedAt } } : {};
}

export function toRule(row: RuleRow): RuleRecord {
  return {
    id: row.id,
    securityGroupId: row.securityGroupId,
    protocol: row.protocol,
    port: row.port,
    source: toSource(row.sourceKind, row.source, row.sourcePeering),
    awsRuleId: row.awsRuleId ?? undefined,
    ...withLocation(row),
    origin: row.origin,
    state: row.state,
    createdAt: row.createdAt,
    removedAt: row.removedAt ?? undefined,
  };
}

export type LocationColumns = Pick<RequestRow, 'awsAccountId' | 'awsRegion' | 'awsRoleArn' | 'awsLocationKnown'>;

export function toLocationColumns(location: GrantLocation | undefined): LocationColumns {
  return {
    awsAccountId: location?.accountId ?? null,
    awsRegion: location?.region ?? null,
    awsRoleArn: location?.roleArn ?? null,
    awsLocationKnown: location?.known ?? false,
  };
}

/** Undefined when a row records nothing of where it lives (older than the grant facts). */
export function toLocation(columns: LocationColumns): GrantLocation | undefined {
  if (!columns.awsLocationKnown && columns.awsAccountId === null && columns.awsRegion === null) return undefined;
  return {
    ...(columns.awsAccountId !== null ? { accountId: columns.awsAccountId } : {}),
    ...(columns.awsRegion !== null ? { region: columns.awsRegion } : {}),
    ...(columns.awsRoleArn !== null ? { roleArn: columns.awsRoleArn } : {}),
    known: columns.awsLocationKnown,
  };
}

export function withLocation(columns: LocationColumns): { location?: GrantLocation } {
  const location = toLocation(columns);
  return location ? { location } : {};
}

/** A row of targetGroupFields (query-parts.ts) as GrantStore.targetGroups answers it. */
export function toTargetGroup({ securityGroupId, clusterId, ...columns }: LocationColumns & { securityGroupId: string; clusterId: string }) {
  return { securityGroupId, clusterId, ...withLocation(columns) };
}

export function toSourceColumns(source: PeeredSource): {
  sourceKind: Source['kind'];
  source: string;
  sourcePeering?: SourcePeering;
} {
  const peering = source.kind === 'security-group' && source.peering ? { sourcePeering: source.peering } : {};
  return source.kind === 'security-group'
    ? { sourceKind: source.kind, source: source.groupId, ...peering }
    : { sourceKind: source.kind, source: source.cidr };
}

export function toSource(kind: Source['kind'], value: string, peering: SourcePeering | null): PeeredSource {
  if (kind === 'cidr') return { kind, cidr: value };
  return peering ? { kind, groupId: value, peering } : { kind, groupId: value };
}

/** The pending rule record written before AWS is called, at the request's location (revocation goes to the same place). */
export function intendedRuleColumns(spec: RuleSpec, request: AccessRequest, events: NewHistoryEvent[]): RuleColumns {
  return {
    securityGroupId: spec.securityGroupId,
    protocol: spec.protocol,
    port: spec.port,
    ...toSourceColumns(spec.source),
    ...toLocationColumns(request.location),
    origin: 'cache-access',
    state: 'pending',
    createdAt: events[0]?.at ?? new Date(),
  };
}
