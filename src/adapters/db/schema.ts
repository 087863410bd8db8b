/**
 * The SQLite tables behind GrantStore. Rows are never deleted: the tables double as the audit trail.
 * Change this file, then run `npm run db:generate` to add a migration.
 */
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, unique } from 'drizzle-orm/sqlite-core';
import type { GrantFacts, SourcePeering } from '../../app/ports.js';
import type { Engine, Status } from '../../domain/request.js';

const SOURCE_KINDS = ['security-group', 'cidr'] as const;

const timestamp = (name: string) => integer(name, { mode: 'timestamp_ms' });

/** Where a request's cluster, or a rule, lives in AWS (GrantLocation); see migration 0003 for older rows. */
const locationColumns = () => ({
  awsAccountId: text('aws_account_id'),
  awsRegion: text('aws_region'),
  awsRoleArn: text('aws_role_arn'),
  awsLocationKnown: integer('aws_location_known', { mode: 'boolean' }).notNull().default(false),
});

/** Ingress rules as cache-access knows them. Several requests may hold the same rule. */
export const ingressRules = sqliteTable(
  'ingress_rules',
  {
    id: integer('id').primaryKey(),
    securityGroupId: text('security_group_id').notNull(),
    protocol: text('protocol', { enum: ['tcp'] }).notNull(),
    port: integer('port').notNull(),
    sourceKind: text('source_kind', { enum: SOURCE_KINDS }).notNull(),
    /** The source security group id or CIDR. */
    source: text('source').notNull(),
    /** For a source group in a peered VPC: its account and the peering connection the rule names. */
    sourcePeering: text('source_peering', { mode: 'json' }).$type<SourcePeering>(),
    awsRuleId: text('aws_rule_id'),
    ...locationColumns(),
    origin: text('origin', { enum: ['cache-access', 'pre-existing'] }).notNull(),
    state: text('state', { enum: ['pending', 'in-place', 'removing', 'removed'] }).notNull(),
    createdAt: timestamp('created_at').notNull(),
    removedAt: timestamp('removed_at'),
  },
  (t) => [
    // Activation looks for a live rule with the same spec; revocation and the reconciler look rules up by
    // AWS id and by state. Without these each of those scans every rule ever recorded.
    index('ingress_rules_spec_idx').on(t.securityGroupId, t.source, t.port),
    index('ingress_rules_aws_rule_id_idx').on(t.awsRuleId),
    index('ingress_rules_state_idx').on(t.state),
  ],
);

export const requests = sqliteTable(
  'requests',
  {
    // AUTOINCREMENT so a request number shown in Slack (#42) is never handed out twice.
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** Slack trigger id of the command that created the request, so a redelivery stores nothing twice. */
    dedupeKey: text('dedupe_key').unique(),
    status: text('status').$type<Status>().notNull(),
    requesterId: text('requester_id').notNull(),
    requesterName: text('requester_name').notNull(),
    clusterId: text('cluster_id').notNull(),
    engine: text('engine').$type<Engine>().notNull(),
    endpoint: text('endpoint').notNull(),
    port: integer('port').notNull(),
    vpcId: text('vpc_id').notNull(),
    targetGroupId: text('target_group_id').notNull(),
    sourceKind: text('source_kind', { enum: SOURCE_KINDS }).notNull(),
    /** The source security group id or CIDR. */
    source: text('source').notNull(),
    sourcePeering: text('source_peering', { mode: 'json' }).$type<SourcePeering>(),
    /** Account, region, blast radius and connection details found when the request was made. */
    facts: text('facts', { mode: 'json' }).$type<GrantFacts>(),
    ...locationColumns(),
    durationSeconds: integer('duration_seconds').notNull(),
    reason: text('reason').notNull(),
    policyMatch: text('policy_match').notNull(),
    approvalsRequired: integer('approvals_required').notNull(),
    deniedBy: text('denied_by'),
    deniedAt: timestamp('denied_at'),
    createdAt: timestamp('created_at').notNull(),
    approvedAt: timestamp('approved_at'),
    activatedAt: timestamp('activated_at'),
    expiresAt: timestamp('expires_at'),
    endedAt: timestamp('ended_at'),
    endedBy: text('ended_by'),
    failureCode: text('failure_code'),
    failureMessage: text('failure_message'),
    ruleRecordId: integer('rule_record_id').references(() => ingressRules.id),
    /** Opened by its requester without approval; reviewed (by an approver) afterwards. */
    breakGlass: integer('break_glass', { mode: 'boolean' }).notNull().default(false),
    reviewedBy: text('reviewed_by'),
    reviewedAt: timestamp('reviewed_at'),
    version: integer('version').notNull(),
  },
  (t) => [
    // One person's recent break-glass grants (the perDay limit), and those still unreviewed.
    index('requests_break_glass_idx').on(t.breakGlass, t.requesterId, t.createdAt),
    index('requests_status_idx').on(t.status),
    // The reconciler looks for active grants past their expiry.
    index('requests_status_expires_at_idx').on(t.status, t.expiresAt),
    // The holders of a rule, asked on every activation and revocation.
    index('requests_rule_record_id_idx').on(t.ruleRecordId),
  ],
);

export const approvals = sqliteTable(
  'approvals',
  {
    // Keeps approvals in the order they were given.
    id: integer('id').primaryKey(),
    requestId: integer('request_id')
      .notNull()
      .references(() => requests.id),
    userId: text('user_id').notNull(),
    at: timestamp('at').notNull(),
  },
  (t) => [unique('approvals_request_user_unique').on(t.requestId, t.userId)],
);

/** Append-only history of each request. */
export const events = sqliteTable(
  'events',
  {
    id: integer('id').primaryKey(),
    requestId: integer('request_id')
      .notNull()
      .references(() => requests.id),
    at: timestamp('at').notNull(),
    actor: text('actor').notNull(),
    type: text('type').notNull(),
    detail: text('detail', { mode: 'json' }).$type<Record<string, unknown>>(),
    /** When the audit webhook acknowledged the event; null until then (the audit stream's outbox). */
    auditDeliveredAt: timestamp('audit_delivered_at'),
  },
  (t) => [
    index('events_request_id_idx').on(t.requestId),
    // Only the events still to send: finding them stays cheap however long the log grows.
    index('events_audit_undelivered_idx').on(t.requestId, t.id).where(sql`${t.auditDeliveredAt} is null`),
  ],
);

/** Slack messages posted about a request, so later state changes can update them. */
export const slackMessages = sqliteTable(
  'slack_messages',
  {
    id: integer('id').primaryKey(),
    requestId: integer('request_id')
      .notNull()
      .references(() => requests.id),
    kind: text('kind', { enum: ['approval', 'requester'] }).notNull(),
    channel: text('channel').notNull(),
    ts: text('ts').notNull(),
  },
  (t) => [
    unique('slack_messages_channel_ts_unique').on(t.channel, t.ts),
    index('slack_messages_request_id_idx').on(t.requestId),
  ],
);
