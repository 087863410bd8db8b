/**
 * The query pieces both GrantStores build alike: WHERE conditions and selected columns. The SQLite and
 * PostgreSQL schemas declare the same columns, so a piece is built the same way from either engine's table;
 * running the query, and the transaction around it, stays with each store.
 */
import { and, eq, gte, inArray, isNull, ne, type SQL } from 'drizzle-orm';
import type { RuleSpec } from '../../app/ports.js';
import type * as postgres from './postgres/schema.js';
import { LIVE_STATUSES, toSourceColumns } from './rows.js';
import type * as sqlite from './schema.js';

type RuleTable = typeof sqlite.ingressRules | typeof postgres.ingressRules;
type RequestTable = typeof sqlite.requests | typeof postgres.requests;
type SlackMessageTable = typeof sqlite.slackMessages | typeof postgres.slackMessages;

/** The rule in place for exactly `spec`: one a new grant of the same access can share. */
export function liveRuleWhere(rules: RuleTable, spec: RuleSpec): SQL | undefined {
  const source = toSourceColumns(spec.source);
  return and(
    eq(rules.securityGroupId, spec.securityGroupId),
    eq(rules.protocol, spec.protocol),
    eq(rules.port, spec.port),
    eq(rules.sourceKind, source.sourceKind),
    eq(rules.source, source.source),
    eq(rules.state, 'in-place'),
  );
}

/** The rule recorded under `awsRuleId`, unless it is removed. */
export function ruleByAwsIdWhere(rules: RuleTable, awsRuleId: string): SQL | undefined {
  return and(eq(rules.awsRuleId, awsRuleId), ne(rules.state, 'removed'));
}

/** Rule `id` unless it is removed already. */
export function unremovedRuleWhere(rules: RuleTable, id: number): SQL | undefined {
  return and(eq(rules.id, id), ne(rules.state, 'removed'));
}

/** Rules in AWS: in place, or being removed. */
export function liveRulesWhere(rules: RuleTable): SQL {
  return inArray(rules.state, ['in-place', 'removing']);
}

/** The live grants holding rule `ruleId`, but for request `except` when given. */
export function holdersWhere(requests: RequestTable, ruleId: number, except?: number): SQL | undefined {
  return and(
    eq(requests.ruleRecordId, ruleId),
    inArray(requests.status, LIVE_STATUSES),
    except === undefined ? undefined : ne(requests.id, except),
  );
}

/** `requesterId`'s break-glass requests created since `since`, whatever became of them: what perDay counts. */
export function breakGlassSinceWhere(requests: RequestTable, requesterId: string, since: Date): SQL | undefined {
  return and(eq(requests.breakGlass, true), eq(requests.requesterId, requesterId), gte(requests.createdAt, since));
}

/** Break-glass requests no approver has reviewed yet. */
export function unreviewedBreakGlassWhere(requests: RequestTable): SQL | undefined {
  return and(eq(requests.breakGlass, true), isNull(requests.reviewedBy));
}

/** A MessageRef's columns, of either engine's table (the return type keeps that engine's columns for its select). */
export function messageRefFields<T extends SlackMessageTable>(slackMessages: T): Pick<T, 'requestId' | 'kind' | 'channel' | 'ts'> {
  return { requestId: slackMessages.requestId, kind: slackMessages.kind, channel: slackMessages.channel, ts: slackMessages.ts };
}

/** A target group's columns, for toTargetGroup (rows.ts), of either engine's table, as messageRefFields. */
export function targetGroupFields<T extends RequestTable>(
  requests: T,
): { securityGroupId: T['targetGroupId'] } & Pick<T, 'clusterId' | 'awsAccountId' | 'awsRegion' | 'awsRoleArn' | 'awsLocationKnown'> {
  return {
    securityGroupId: requests.targetGroupId,
    clusterId: requests.clusterId,
    awsAccountId: requests.awsAccountId,
    awsRegion: requests.awsRegion,
    awsRoleArn: requests.awsRoleArn,
    awsLocationKnown: requests.awsLocationKnown,
  };
}
