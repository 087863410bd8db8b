/**
 * The ports the use cases talk to. Adapters (SQLite, AWS, Slack, BullMQ) implement them; tests use fakes.
 * Nothing here knows about Slack blocks, SDK commands or SQL.
 */
import type { AccessRequest, Decision, Engine, GrantLocation, NewAccessRequest, Source } from '../domain/request.js';
import type { ClientConnection } from '../domain/sessions.js';
import type { EndSessions } from '../policy.js';
import type { Ticket } from '../domain/ticket.js';
import type { ReleaseOutcome } from './release-rule.js';

export interface Clock {
  now(): Date;
}

// ---------- records ----------

/**
 * What each kind of event in a request's history records in `detail` (undefined: nothing). The log is
 * JSON, so times are ISO strings; an optional field may be missing from rows older versions wrote.
 */
export interface EventDetails {
  /** `ticket`: the reference the policy's reasonPattern found in the reason, for audit. */
  requested: { durationSeconds: number; reason: string; ticket?: Ticket };
  'auto-approved': { policyMatch: string };
  approved: undefined;
  denied: undefined;
  cancelled: undefined;
  'timed-out': { pendingTimeout: number };
  'rule-requested': RuleSpec;
  activated: {
    awsRuleId?: string;
    origin: RuleRecord['origin'];
    sharedWith: number[];
    expiresAt?: string;
    /** A security-group source's network interface addresses at activation, kept to end its sessions later. */
    sourceAddresses?: string[];
  };
  failed: { code: string; message: string };
  'revoke-requested': { reason: string } | undefined;
  revoked: { outcome: ReleaseOutcome; reason?: string };
  expired: { outcome: ReleaseOutcome };
  'revocation-overdue': { code: string };
  'revocation-overdue-cleared': { lateBy: string };
  'revoked-externally': { awsRuleId?: string };
  'orphan-rule-revoked': { awsRuleId?: string; securityGroupId: string };
  reminded: { expiresAt: string };
  'extension-requested': { seconds: number; until: string; approvalsRequired?: number; messages?: SlackLocation[] };
  'extension-approval-added': undefined;
  'extension-approved': { seconds: number; until: string };
  'extension-denied': undefined;
  'extension-void': undefined;
  /** Connections closed after the rule was removed, per node (host:port). */
  'sessions-ended': { closed: number; nodes: Array<{ node: string; closed: number }> };
  /** Nodes where connections could not be closed, and why (never a secret). */
  'sessions-not-ended': { nodes: Array<{ node: string; code: string; reason: string }> };
  /** The requester opened the grant at once, under the policy's breakGlass; it awaits an approver's review. */
  'break-glass': { policyMatch: string; notify?: string };
  'break-glass-reviewed': undefined;
  /** The approvers were reminded that the grant is still unreviewed. */
  'break-glass-review-reminded': { approverIds: string[] };
}
export type EventKind = keyof EventDetails;

/** An event of kind K as written: `detail` may be left out only where the kind allows nothing. */
export type NewEventOf<K extends EventKind> = {
  at: Date;
  /** Slack user id, `operator:<name>` from the CLI, or 'system' for the bot itself. */
  actor: string;
  type: K;
} & (undefined extends EventDetails[K] ? { detail?: EventDetails[K] } : { detail: EventDetails[K] });

/** One line to append to a request's history: a misspelt kind or a payload of the wrong shape does not compile. */
export type NewHistoryEvent = { [K in EventKind]: NewEventOf<K> }[EventKind];

/** A kind this version does not know, read from a row another version (older or newer) wrote. */
export type UnrecognisedKind = string & { readonly [unrecognised]: true };
declare const unrecognised: unique symbol;

/** One line of a request's append-only history, as read back. Narrow it to a kind with isEvent(). */
export type HistoryEvent =
  | (NewHistoryEvent & { requestId: number })
  | { requestId: number; at: Date; actor: string; type: UnrecognisedKind; detail?: Readonly<Record<string, unknown>> };

/** Where a message about a request was posted, so later state changes can update it. */
export interface MessageRef {
  requestId: number;
  kind: 'approval' | 'requester';
  channel: string;
  ts: string;
}

/** The exact ingress permission: AWS treats two rules with equal fields as one. */
export interface RuleSpec {
  securityGroupId: string;
  protocol: 'tcp';
  port: number;
  source: Source;
}

/** An ingress rule as cache-access records it: created by the bot, or found already in place. */
export interface RuleRecord extends RuleSpec {
  id: number;
  /** AWS SecurityGroupRuleId, once known. */
  awsRuleId?: string;
  origin: 'cache-access' | 'pre-existing';
  /** Where the rule was made (the location of the request that made it); absent on old records. */
  location?: GrantLocation;
  /** pending: AWS call under way; removing: last holder is revoking it; removed: gone from AWS. */
  state: 'pending' | 'in-place' | 'removing' | 'removed';
  createdAt: Date;
  removedAt?: Date;
}

/** How many break-glass requests one person may have made since when. */
export interface BreakGlassLimit {
  perDay: number;
  since: Date;
}

/**
 * Where requests, rules and their history are kept (SQLite or PostgreSQL). Every method is asynchronous;
 * anything that must be exclusive across processes and hosts is done with the database's own locks.
 */
export interface GrantStore {
  /**
   * Stores a new pending request with its first event and returns it with its id. Idempotent on
   * `dedupeKey`: a second call with the same key returns the stored request and `created: false`.
   */
  create(
    draft: NewAccessRequest,
    event: NewHistoryEvent,
    dedupeKey?: string,
  ): Promise<{ request: AccessRequest; created: boolean }>;
  get(id: number): Promise<AccessRequest | undefined>;
  /**
   * Saves `next` (whose version is one more than the stored one) and appends the events, atomically.
   * Throws ConflictError when another writer saved first.
   */
  save(next: AccessRequest, events: NewHistoryEvent[]): Promise<void>;
  history(id: number): Promise<HistoryEvent[]>;
  findByStatus(status: AccessRequest['status']): Promise<AccessRequest[]>;
  /**
   * Stores a grant opened by break-glass (`opened`: already in the state the opening gives it) with its events,
   * unless its requester already has `limit.perDay` break-glass grants made at or after `limit.since` (whatever
   * became of them): then stores nothing and returns those, oldest first. Counting and storing are one atomic
   * step, so attempts by one person at the same moment (two deliveries, two replicas) never pass the limit
   * together, and no break-glass grant is ever stored half opened. Idempotent on `dedupeKey` like create,
   * which is looked up before the limit is counted.
   */
  createBreakGlass(
    opened: NewAccessRequest & { status: AccessRequest['status'] },
    events: NewHistoryEvent[],
    limit: BreakGlassLimit,
    dedupeKey?: string,
  ): Promise<{ request: AccessRequest; created: boolean } | { refused: AccessRequest[] }>;
  /** Break-glass grants no approver has reviewed yet, oldest first. */
  unreviewedBreakGlass(): Promise<AccessRequest[]>;

  addMessageRefs(refs: MessageRef[]): Promise<void>;
  messageRefs(requestId: number): Promise<MessageRef[]>;

  /** Appends to a request's history without changing its state (warnings, notes). */
  recordEvent(requestId: number, event: NewHistoryEvent): Promise<void>;

  /**
   * Records the intent to create a rule before AWS is called: a pending rule record linked to the
   * request, at the request's location, saved atomically with `next` (whose version is one more than the stored one).
   * Throws ConflictError when another writer saved the request first.
   */
  recordRuleIntent(next: AccessRequest, spec: RuleSpec, events: NewHistoryEvent[]): Promise<RuleRecord>;
  getRule(id: number): Promise<RuleRecord | undefined>;
  /** The rule record (not yet removed) with AWS id `awsRuleId`, if cache-access knows that rule. */
  findRuleByAwsId(awsRuleId: string): Promise<RuleRecord | undefined>;
  /** An in-place rule with exactly this spec, which a new grant can share instead of adding its own. */
  findLiveRule(spec: RuleSpec): Promise<RuleRecord | undefined>;
  markRuleInPlace(id: number, awsRuleId: string, origin: RuleRecord['origin']): Promise<void>;
  /**
   * Decides, atomically, what ending `requestId`'s hold on rule `id` means for the rule:
   * 'shared' (other approved or active grants still hold it: keep it), 'keep' (it pre-existed
   * cache-access: never removed), 'remove' (last holder: the rule is now marked 'removing' so no new
   * grant will share it), or 'gone' (already removed).
   */
  releaseRule(id: number, requestId?: number): Promise<'shared' | 'keep' | 'remove' | 'gone'>;
  markRuleRemoved(id: number, now: Date): Promise<void>;
  /** Approved or active grants holding rule `id`. */
  holdersOf(id: number): Promise<AccessRequest[]>;
  /** Rule records in 'in-place' or 'removing' state: what cache-access believes is open in AWS. */
  liveRules(): Promise<RuleRecord[]>;
  /**
   * Every security group cache-access has ever targeted, with a cluster it protects and each location
   * requests recorded for it: where its rules can be.
   */
  targetGroups(): Promise<Array<{ securityGroupId: string; clusterId: string; location?: GrantLocation }>>;
}

/** One event of the audit export, with the cluster of its request. */
export interface AuditEntry {
  at: Date;
  requestId: number;
  clusterId: string;
  /** Slack user id, `operator:<name>` from the CLI, or 'system'. */
  actor: string;
  type: string;
  detail?: Record<string, unknown>;
}

export interface AuditFilter {
  /** Only the events of break-glass grants no approver has reviewed yet. */
  unreviewedBreakGlass?: boolean;
}

/** Reads across all records for operators (audit export, metrics gauges, health checks), on either engine. */
export interface RecordsReader {
  /** Every event recorded at or after `since` (of the requests `filter` keeps), in the order they were recorded. */
  eventsSince(since: Date, filter?: AuditFilter): Promise<AuditEntry[]>;
  /** Requests by current status. */
  requestCountsByStatus(): Promise<Record<string, number>>;
  /** Decisions recorded, by kind (approved, denied). */
  decisionCounts(): Promise<Record<string, number>>;
  /** Active grants whose expiry is at or before `now`. */
  overdueRevocations(now: Date): Promise<number>;
  /** Answers once the database does (liveness). */
  ping(): Promise<void>;
  /** Fails unless the database takes writes: read-only, full, or locked too long (readiness). Writes nothing. */
  checkWritable(): Promise<void>;
}

// ---------- audit stream ----------

/** One event of the log with its row id, the id the audit stream sends it under. */
export interface LoggedEvent {
  id: number;
  requestId: number;
  at: Date;
  actor: string;
  type: string;
  detail?: Readonly<Record<string, unknown>>;
}

/**
 * The event log as the audit stream's outbox: an event stays undelivered until the receiver has
 * acknowledged it, across retries and restarts.
 */
export interface AuditOutbox {
  /** The request's undelivered events, lowest id (oldest) first, at most `limit`. */
  undelivered(requestId: number, limit: number): Promise<LoggedEvent[]>;
  markDelivered(eventId: number, at: Date): Promise<void>;
  /** Requests with undelivered events, the one waiting longest first, at most `limit`. */
  requestsWithUndelivered(limit: number): Promise<number[]>;
  /** How many events wait, and when the oldest of them happened. */
  backlog(): Promise<{ undelivered: number; oldestAt?: Date }>;
}

/** Where audit events go (the webhook). */
export interface AuditSink {
  /**
   * Delivers one event with the request it belongs to (as stored now); resolves once the receiver
   * acknowledged it, throws UpstreamError (retryable) when it did not.
   */
  send(event: LoggedEvent, request: AccessRequest): Promise<void>;
}

export interface AuditQueue {
  /**
   * Makes sure a job (`audit-<id>`) that has yet to read the request's undelivered events runs soon:
   * waits for a running one to finish (it may have read them already) and then adds another.
   */
  scheduleAuditDelivery(requestId: number): Promise<void>;
  /** Adds `audit-<id>` unless it exists in any state, without waiting (the backlog sweep's repair). */
  ensureAuditDelivery(requestId: number): Promise<void>;
}

// ---------- AWS ----------

/** Where a cluster lives: absent fields mean the bot's own region and credentials. */
export interface AwsLocation {
  region?: string;
  /** An IAM role the bot assumes to reach another account. */
  roleArn?: string;
}

/** What a client needs to know to connect: in-transit encryption, and which kind of AUTH. */
export interface ConnectionFacts {
  tls: boolean;
  auth: 'none' | 'auth-token' | 'rbac';
  /** Redis/Valkey cluster mode: clients must follow redirections. */
  clusterMode: boolean;
}

export interface ClusterInfo {
  /** The id AWS returns (lower-case): the one the policy decides on. */
  id: string;
  kind: 'replication-group' | 'cache-cluster';
  engine: Engine;
  endpoint: string;
  port: number;
  vpcId: string;
  securityGroupIds: string[];
  /** The cache cluster ids that make it up (itself, or a replication group's members). */
  memberIds: string[];
  /** The account that owns the cluster's security groups, and the region it runs in. */
  accountId: string;
  region: string;
  connection: ConnectionFacts;
}

export interface SecurityGroupInfo {
  id: string;
  name: string;
  vpcId: string;
  /** The owning AWS account. */
  ownerId: string;
  tags: Record<string, string>;
}

/** What else a rule on a security group opens, and how full the group is. */
export interface GroupExposure {
  /** Other ElastiCache clusters (replication group or cache cluster ids) in the group that listen on the port. */
  otherClusters: string[];
  /** Descriptions of the group's network interfaces that belong to none of those clusters nor the target. */
  otherInterfaces: string[];
  inboundRuleCount: number;
}

/** An active peering connection between the cluster's VPC and another. */
export interface VpcPeering {
  id: string;
  peerVpcId: string;
  peerAccountId: string;
}

export interface ClusterDirectory {
  /**
   * Looks up a replication group, then a cache cluster, by id in any case; a node of a replication
   * group answers with its group. Undefined when neither exists.
   */
  findCluster(id: string, location?: AwsLocation): Promise<ClusterInfo | undefined>;
  findSecurityGroup(id: string, location?: AwsLocation): Promise<SecurityGroupInfo | undefined>;
  /** What a rule on `groupId` for `cluster`'s port would open besides `cluster`. */
  exposureOf(groupId: string, cluster: ClusterInfo, location?: AwsLocation): Promise<GroupExposure>;
  /** The active peering connection between two VPCs, whichever side requested it. */
  findPeering(vpcId: string, peerVpcId: string, location?: AwsLocation): Promise<VpcPeering | undefined>;
  /** The cluster's own AWS tags (replication group, else cache cluster); empty when it does not exist. */
  clusterTags(id: string, location?: AwsLocation): Promise<Record<string, string>>;
  /** Ids of every replication group and of every cache cluster outside one (all pages). */
  listClusterIds(location?: AwsLocation): Promise<string[]>;
}

/**
 * The peer side of a security-group source in a peered VPC: AWS needs the account and the peering
 * connection in the rule. Carried on the request's source; the domain's Source does not declare it.
 */
export interface SourcePeering {
  accountId: string;
  vpcId: string;
  peeringConnectionId: string;
}
export type PeeredSource = Source & { peering?: SourcePeering };

/**
 * What approvers and the requester need to know about where a grant lands, found when it was
 * requested and kept with it. Carried on the request; the domain's AccessRequest does not declare it.
 */
export interface GrantFacts {
  accountId: string;
  region: string;
  exposure: Pick<GroupExposure, 'otherClusters' | 'otherInterfaces'>;
  /** Inbound rules the target group can still take after this one; recorded only when few are left. */
  headroom?: number;
  connection: ConnectionFacts;
  /** Whether, by the policy when it was requested, open sessions are closed when the grant ends. */
  endsSessions?: boolean;
  /** The ticket reference in the reason (policy reasonPattern), linked in every message about the request. */
  ticket?: Ticket;
}
export type RequestWithFacts = AccessRequest & { facts?: GrantFacts };

export interface RuleTags {
  grantId: number;
  expiresAt: Date;
}

export type AuthorizeResult =
  | { outcome: 'created'; awsRuleId: string }
  /**
   * AWS already has an identical rule. `grantId` is the grant its cache-access tags name; absent when
   * the rule carries no cache-access tags (someone made it by hand).
   */
  | { outcome: 'duplicate'; awsRuleId: string; grantId?: number };

/** A rule in AWS that carries cache-access tags. */
export interface TaggedRule {
  awsRuleId: string;
  securityGroupId: string;
  grantId?: number;
}

export interface Firewall {
  /** Adds the ingress rule with its description and tags. Throws UpstreamError (retryable or not). */
  authorize(spec: RuleSpec, description: string, tags: RuleTags, location?: AwsLocation): Promise<AuthorizeResult>;
  /** Removes a rule by its id; a rule already gone counts as removed. */
  revoke(securityGroupId: string, awsRuleId: string, location?: AwsLocation): Promise<'removed' | 'already-gone'>;
  /** True when AWS still has a rule with this id in the group. */
  ruleExists(securityGroupId: string, awsRuleId: string, location?: AwsLocation): Promise<boolean>;
  /** Every ingress rule carrying cache-access tags in these groups (all pages). */
  listTaggedRules(securityGroupIds: string[], location?: AwsLocation): Promise<TaggedRule[]>;
}

// ---------- Slack ----------

export interface SlackLocation {
  channel: string;
  ts: string;
}

/** A request to make an active grant last longer, kept in the request's event log. */
export interface Extension {
  requestId: number;
  /** Who asked (the requester). */
  by: string;
  at: Date;
  seconds: number;
  /** The expiry it would set. */
  until: Date;
  /** Distinct approvers it needs, as many as the request did (see extensionApprovalsRequired). */
  approvalsRequired: number;
  /** The approvals so far, oldest first. */
  approvals: Decision[];
  /** Absent while approvers have not decided. 'void': the grant ended first. */
  outcome?: { kind: 'approved' | 'denied' | 'void'; by: string; at: Date };
}

/** Resolves approver principals (users and user groups) to user ids. */
export interface PeopleDirectory {
  expandApprovers(principals: string[]): Promise<string[]>;
}

/** Everything the use cases tell people. The Slack adapter renders it; the core never sees Block Kit. */
export interface Notifier {
  /** Posts the approval request to a channel, or DMs each approver; returns where it went. */
  requestApproval(request: AccessRequest, target: { channel?: string; approverIds: string[] }): Promise<MessageRef[]>;
  /** Re-renders every message posted for the request to show its current state. */
  refreshMessages(request: AccessRequest, refs: MessageRef[]): Promise<void>;
  /** Direct message to the requester about their request; returns where it went, so it can be refreshed. */
  tellRequester(request: AccessRequest, note?: string): Promise<MessageRef>;
  /** Asks approvers (channel or DMs) to extend an active grant; returns where the messages went. */
  requestExtension(request: AccessRequest, extension: Extension, target: { channel?: string; approverIds: string[] }): Promise<SlackLocation[]>;
  /** Re-renders the extension messages to show the extension's outcome. */
  refreshExtension(request: AccessRequest, extension: Extension, messages: SlackLocation[]): Promise<void>;
  /** A line in the approval thread(s), e.g. an overdue-revocation warning. */
  postToThreads(request: AccessRequest, refs: MessageRef[], text: string): Promise<void>;
}

// ---------- Queue ----------

/** What a job handler knows about its delivery. */
export interface JobAttempt {
  /** Attempts that already failed before this one. */
  attemptsMade: number;
  /** No retry follows this attempt: a retryable failure now must be recorded as the outcome. */
  finalAttempt: boolean;
}

export interface Scheduler {
  /** Enqueues job `grant-<id>` now; a second call while it exists does nothing. */
  scheduleGrant(requestId: number): Promise<void>;
  /** Enqueues job `revoke-<id>` to run at `at` (now when in the past); replaces an older schedule. */
  scheduleRevoke(requestId: number, at: Date): Promise<void>;
  /** Enqueues `revoke-<id>` at `at` only when no such job exists (the reconciler's repair). */
  ensureRevoke(requestId: number, at: Date): Promise<void>;
  /**
   * As scheduleRevoke, but a `revoke-<id>` running now is left to finish instead of waited for ('running'):
   * for the reconciler, which comes again next interval, so that a job held by a worker that died (locked
   * until BullMQ hands it back) costs it no wait.
   */
  expediteRevoke(requestId: number, at: Date): Promise<'scheduled' | 'running'>;
  /** Enqueues job `remind-<id>` to run at `at`; replaces an older schedule. */
  scheduleReminder(requestId: number, at: Date): Promise<void>;
  /** Enqueues `remind-<id>` at `at` only when no such job exists (the reconciler's repair). */
  ensureReminder(requestId: number, at: Date): Promise<void>;
  /** Enqueues job `end-sessions-<id>` now; a second call while it exists does nothing. */
  scheduleEndSessions(requestId: number): Promise<void>;
}

// ---------- live sessions ----------

/** One node of a cluster (a shard's primary or one of its replicas), where clients connect. */
export interface CacheNode {
  /** The cache cluster (node) id, e.g. orders-redis-002. */
  id: string;
  host: string;
  port: number;
}

/** How to sign in to a node: AUTH with a user (RBAC, IAM) or a password alone (AUTH token). Nothing for no AUTH. */
export interface NodeCredentials {
  username?: string;
  password?: string;
}

/** The network facts that decide which sessions a removed rule leaves to close. */
export interface ClusterNetwork {
  /** Every node of the cluster: each shard's primary and replicas, with its own endpoint. */
  nodes(cluster: ClusterInfo, location?: AwsLocation): Promise<CacheNode[]>;
  /** The private addresses (IPv4 and IPv6) of the network interfaces in a security group. */
  groupAddresses(groupId: string, location?: AwsLocation): Promise<string[]>;
  /** The sources of the inbound rules of these groups that let TCP in on `port`. */
  ingressSources(groupIds: string[], port: number, location?: AwsLocation): Promise<Source[]>;
}

/** Credentials for a cluster's nodes as the policy's endSessions says; what it returns is never logged. */
export interface SessionCredentials {
  forCluster(auth: EndSessions, cluster: ClusterInfo, location?: AwsLocation): Promise<NodeCredentials>;
}

/** A signed-in connection to one node. */
export interface NodeSession {
  /** This connection's own client id: never closed. */
  ownId: string;
  clients(): Promise<ClientConnection[]>;
  /** Closes connections by client id; returns how many were still open. */
  kill(ids: string[]): Promise<number>;
  close(): Promise<void>;
}

export interface LiveSessions {
  /** Connects (TLS when asked) and signs in; throws when the node cannot be reached or refuses. */
  open(node: CacheNode, options: { tls: boolean; credentials: NodeCredentials }): Promise<NodeSession>;
}
