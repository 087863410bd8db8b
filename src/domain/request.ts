/** The access request as the core sees it: one row of history, independent of storage and chat. */

export const STATUSES = [
  'pending', // waiting for approvers
  'approved', // approved; the ingress rule is being put in place
  'active', // rule in place until expiresAt
  'expired', // rule removed at expiry
  'revoked', // ended early (by a person, or the rule was removed outside cache-access)
  'denied',
  'cancelled', // withdrawn by the requester or timed out while pending
  'failed', // the rule could not be put in place
] as const;
export type Status = (typeof STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<Status> = new Set(['expired', 'revoked', 'denied', 'cancelled', 'failed']);

export type Engine = 'redis' | 'valkey' | 'memcached';

export type Source =
  | { kind: 'security-group'; groupId: string }
  | { kind: 'cidr'; cidr: string };

/**
 * Where a grant's rule lives in AWS, recorded when the request was made: revocation and the reconciler go
 * there whatever the policy says later. `known` is false for records made before locations were kept
 * (only the account and region were); their role can only be guessed from the policy in force.
 */
export interface GrantLocation {
  accountId?: string;
  region?: string;
  /** The IAM role assumed to reach the account; absent for the bot's own credentials. */
  roleArn?: string;
  known: boolean;
}

export interface Decision {
  userId: string;
  at: Date;
}

/**
 * A break-glass grant: opened at once by its requester, without approval, and reviewed by an approver
 * (never the requester) afterwards. `reviewedBy` is absent while nobody has reviewed it.
 */
export interface BreakGlass {
  reviewedBy?: Decision;
}

export interface AccessRequest {
  id: number;
  status: Status;
  requesterId: string;
  /** Slack handle at request time, for rule descriptions and audit. */
  requesterName: string;
  clusterId: string;
  engine: Engine;
  endpoint: string;
  port: number;
  vpcId: string;
  targetGroupId: string;
  source: Source;
  durationSeconds: number;
  reason: string;
  /** The policy rule's `match` pattern that governed this request, kept for audit. */
  policyMatch: string;
  approvalsRequired: number;
  approvals: Decision[];
  deniedBy?: Decision;
  createdAt: Date;
  approvedAt?: Date;
  activatedAt?: Date;
  expiresAt?: Date;
  endedAt?: Date;
  endedBy?: string;
  failure?: { code: string; message: string };
  /** Where the cluster and its rule live; absent only on records older than the location columns. */
  location?: GrantLocation;
  /** Present on break-glass grants only. */
  breakGlass?: BreakGlass;
  /** Internal id of the ingress-rule record this grant holds once active. */
  ruleRecordId?: number;
  /** Optimistic-concurrency counter: a save only succeeds against the version it loaded. */
  version: number;
}

export type NewAccessRequest = Omit<AccessRequest, 'id' | 'status' | 'approvals' | 'version'>;

/** A break-glass grant no approver has reviewed yet. */
export function isUnreviewedBreakGlass(request: AccessRequest): boolean {
  return request.breakGlass !== undefined && request.breakGlass.reviewedBy === undefined;
}

export function describeSource(source: Source): string {
  return source.kind === 'security-group' ? source.groupId : source.cidr;
}

export function formatId(id: number): string {
  return `#${id}`;
}
