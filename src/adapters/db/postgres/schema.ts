/**
 * The PostgreSQL tables behind GrantStore: the same tables, columns and keys as the SQLite schema
 * (../schema.ts), so both engines map rows alike. Change this file, then run `npm run db:generate`.
 */
import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, serial, text, timestamp as pgTimestamp, unique } from 'drizzle-orm/pg-core';
import type { GrantFacts, SourcePeering } from '../../../app/ports.js';
import type { Engine, Status } from '../../../domain/request.js';

const SOURCE_KINDS = ['security-group', 'cidr'] as const;

// Millisecond precision, as JavaScript dates (and the SQLite schema) have.
const timestamp = (name: string) => pgTimestamp(name, { withTimezone: true, precision: 3, mode: 'date' });

const locationColumns = () => ({
  awsAccountId: text('aws_account_id'),
  awsRegion: text('aws_region'),
  awsRoleArn: text('aws_role_arn'),
  awsLocationKnown: boolean('aws_location_known').notNull().default(false),
});

export const ingressRules = pgTable(
  'ingress_rules',
  {
    id: serial('id').primaryKey(),
    securityGroupId: text('security_group_id').notNull(),
    protocol: text('protocol', { enum: ['tcp'] }).notNull(),
    port: integer('port').notNull(),
    sourceKind: text('source_kind', { enum: SOURCE_KINDS }).notNull(),
    source: text('source').notNull(),
    sourcePeering: jsonb('source_peering').$type<SourcePeering>(),
    awsRuleId: text('aws_rule_id'),
    ...locationColumns(),
    origin: text('origin', { enum: ['cache-access', 'pre-existing'] }).notNull(),
    state: text('state', { enum: ['pending', 'in-place', 'removing', 'removed'] }).notNull(),
    createdAt: timestamp('created_at').notNull(),
    removedAt: timestamp('removed_at'),
  },
  (t) => [
    index('ingress_rules_spec_idx').on(t.securityGroupId, t.source, t.port),
    index('ingress_rules_aws_rule_id_idx').on(t.awsRuleId),
    index('ingress_rules_state_idx').on(t.state),
  ],
);

export const requests = pgTable(
  'requests',
  {
    // A sequence never hands a number out twice, as SQLite's AUTOINCREMENT does not.
    id: serial('id').primaryKey(),
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
    source: text('source').notNull(),
    sourcePeering: jsonb('source_peering').$type<SourcePeering>(),
    facts: jsonb('facts').$type<GrantFacts>(),
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
    breakGlass: boolean('break_glass').notNull().default(false),
    reviewedBy: text('reviewed_by'),
    reviewedAt: timestamp('reviewed_at'),
    version: integer('version').notNull(),
  },
  (t) => [
    // One person's recent break-glass grants (the perDay limit), and those still unreviewed.
    index('requests_break_glass_idx').on(t.breakGlass, t.requesterId, t.createdAt),
    index('requests_status_idx').on(t.status),
    index('requests_status_expires_at_idx').on(t.status, t.expiresAt),
    index('requests_rule_record_id_idx').on(t.ruleRecordId),
  ],
);

export const approvals = pgTable(
  'approvals',
  {
    id: serial('id').primaryKey(),
    requestId: integer('request_id')
      .notNull()
      .references(() => requests.id),
    userId: text('user_id').notNull(),
    at: timestamp('at').notNull(),
  },
  (t) => [unique('approvals_request_user_unique').on(t.requestId, t.userId)],
);

export const events = pgTable(
  'events',
  {
    id: serial('id').primaryKey(),
    requestId: integer('request_id')
      .notNull()
      .references(() => requests.id),
    at: timestamp('at').notNull(),
    actor: text('actor').notNull(),
    type: text('type').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>(),
    /** When the audit webhook acknowledged the event; null until then (the audit stream's outbox). */
    auditDeliveredAt: timestamp('audit_delivered_at'),
  },
  (t) => [
    index('events_request_id_idx').on(t.requestId),
    // Only the events still to send: finding them stays cheap however long the log grows.
    index('events_audit_undelivered_idx').on(t.requestId, t.id).where(sql`${t.auditDeliveredAt} is null`),
  ],
);

export const slackMessages = pgTable(
  'slack_messages',
  {
    id: serial('id').primaryKey(),
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
