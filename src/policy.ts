import { readFileSync } from 'node:fs';
import picomatch from 'picomatch';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import * as z from 'zod';
import { parseDuration } from './domain/durations.js';
import { InvalidInputError } from './domain/errors.js';
import { canonicalCidr, isWholeInternet, SECURITY_GROUP_ID } from './domain/source.js';
import { findTicket, TICKET_PLACEHOLDER } from './domain/ticket.js';

const durationText = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const slackPrincipal = z
  .string()
  .regex(/^[UWS][A-Z0-9]{2,}$/, 'must be a Slack user id (U…/W…) or user group id (S…)');

/** ElastiCache user ids: a letter, then letters, digits and single hyphens. */
const ELASTICACHE_USER = /^[A-Za-z](?:-?[A-Za-z0-9])*$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:secret:[\w/+=.@-]+$/;

/** How the bot signs in to a cluster's nodes to close the sessions a revoked grant leaves open. */
const endSessionsSchema = z.discriminatedUnion('auth', [
  z.strictObject({
    auth: z.literal('iam'),
    user: z.string().regex(ELASTICACHE_USER, 'must be an ElastiCache user id (a letter, then letters, digits and hyphens)'),
  }),
  z.strictObject({
    auth: z.literal('secret'),
    secretArn: z
      .string()
      .regex(SECRET_ARN, 'must be a Secrets Manager secret ARN such as arn:aws:secretsmanager:eu-west-1:123456789012:secret:cache-access-AbCdEf'),
  }),
  z.strictObject({ auth: z.literal('none') }),
]);
export type EndSessions = z.infer<typeof endSessionsSchema>;
const slackChannel = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id (C… or G…)');

/** Emergency access without approval, reviewed afterwards; a rule's own replaces the defaults' whole. */
const breakGlassSchema = z.strictObject({
  maxDuration: durationText.optional(),
  requesters: z.array(slackPrincipal).min(1, 'name at least one requester (user or user group id)'),
  notify: slackChannel.optional(),
  perDay: z.number().int().min(1).max(100).optional(),
});

const regularExpression = z.string().min(1).superRefine((text, ctx) => {
  try {
    new RegExp(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `is not a valid regular expression: ${(error as Error).message}` });
  }
});

// Characters that would end or split a Slack link (<url|text>) are refused rather than escaped.
const ticketLinkTemplate = z.string().superRefine((text, ctx) => {
  const problem = !text.includes(TICKET_PLACEHOLDER)
    ? `must contain ${TICKET_PLACEHOLDER}, where the ticket goes`
    : /[\s<>|]/.test(text)
      ? 'must not contain spaces, <, > or |'
      : !/^https?:$/.test(urlProtocol(text.replaceAll(TICKET_PLACEHOLDER, 'T-1')))
        ? 'must be an http(s) URL such as https://tracker.example.com/browse/{0}'
        : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

function urlProtocol(text: string): string {
  return URL.canParse(text) ? new URL(text).protocol : '';
}

/** Rules kept free in every target group for people's own changes: cache-access never fills the last ones. */
export const RULE_QUOTA_MARGIN = 5;

const settings = {
  duration: durationText,
  maxDuration: durationText,
  minDuration: durationText,
  pendingTimeout: durationText,
  /** How long before expiry the requester gets a reminder with Extend and Revoke buttons. */
  remindBefore: durationText,
  /** The longest a grant may last in total, extensions included; maxDuration when absent. */
  maxTotal: durationText,
  approvals: z.number().int().min(1).max(10),
  selfApproval: z.boolean(),
  requireReason: z.boolean(),
  requireDedicatedGroup: z.boolean(),
  // AWS allows up to 1,000 inbound rules per group (60 by default).
  ruleQuota: z
    .number()
    .int()
    .min(RULE_QUOTA_MARGIN + 1, `must be more than the ${RULE_QUOTA_MARGIN} rules cache-access keeps free`)
    .max(1_000, "cannot exceed 1000, AWS's highest quota"),
  maxCidrPrefix: z.strictObject({ ipv4: z.number().int().min(1).max(32), ipv6: z.number().int().min(1).max(128) }).partial(),
  approversFromTags: z.boolean(),
  /** Close the connections a grant let in when its rule is removed; off when absent. */
  endSessions: endSessionsSchema,
  breakGlass: breakGlassSchema,
  /** A regular expression the reason must contain a match of: the ticket reference. */
  reasonPattern: regularExpression,
  /** A reason that contains a ticket, shown to people whose reason has none. */
  reasonExample: z.string().min(1),
  /** Where a ticket is read: {0} is replaced by the URL-encoded ticket. */
  reasonLink: ticketLinkTemplate,
};

const defaultsSchema = z.strictObject(settings).partial();

const clusterRuleSchema = z.strictObject({
  match: z.string().min(1),
  approvers: z.array(slackPrincipal).min(1, 'needs at least one approver'),
  channel: slackChannel.optional(),
  allowedCidrs: z
    .array(
      z.string().transform((text, ctx) => {
        try {
          const cidr = canonicalCidr(text);
          if (isWholeInternet(cidr)) ctx.addIssue({ code: 'custom', message: `${text} opens the whole internet` });
          return cidr;
        } catch {
          ctx.addIssue({ code: 'custom', message: `${text} is not a CIDR` });
          return z.NEVER;
        }
      }),
    )
    .optional(),
  targetGroup: z.string().regex(SECURITY_GROUP_ID, 'must be a security group id (sg- and 8 or 17 hex digits)').optional(),
  peeredVpcs: z.array(z.string().regex(/^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, 'must be VPC ids (vpc- and 8 or 17 hex digits)')).optional(),
  region: z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-west-1').optional(),
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN such as arn:aws:iam::123456789012:role/cache-access')
    .optional(),
  autoApprove: z
    .strictObject({
      maxDuration: durationText,
      requesters: z.array(slackPrincipal).min(1, 'name at least one requester (user or user group id)'),
    })
    .optional(),
  ...defaultsSchema.shape,
});

const policySchema = z.strictObject({
  defaults: defaultsSchema.optional(),
  clusters: z.array(clusterRuleSchema).min(1, 'list at least one cluster rule'),
});

/** The settings in force for one cluster: a rule merged over the defaults. Durations in seconds. */
export interface ClusterPolicy {
  match: string;
  approvers: string[];
  channel?: string;
  allowedCidrs: string[];
  duration: number;
  maxDuration: number;
  minDuration: number;
  pendingTimeout: number;
  remindBefore: number;
  /** Longest total of a grant from activation, extensions included (at least maxDuration). */
  maxTotal: number;
  approvals: number;
  selfApproval: boolean;
  requireReason: boolean;
  /** Refuse a request when the target group also protects other clusters or network interfaces. */
  requireDedicatedGroup: boolean;
  /** Inbound rules the target group may hold (AWS's per-group quota); cache-access keeps a margin free. */
  ruleQuota: number;
  /** Widest CIDR source allowed, as a prefix length per family. */
  maxCidrPrefix: { ipv4: number; ipv6: number };
  /** The group that gets the rule when a cluster has several. */
  targetGroup?: string;
  /** VPCs, peered with the cluster's, whose security groups may be sources. */
  peeredVpcs: string[];
  /** Where the cluster is and whose role reaches it; absent means the bot's own region and credentials. */
  region?: string;
  roleArn?: string;
  /** Also accept as approvers the Slack ids in the cluster's `cache-access:approvers` AWS tag. */
  approversFromTags: boolean;
  /** Requests by these people for at most maxDuration (seconds) are approved without a human. */
  autoApprove?: { maxDuration: number; requesters: string[] };
  /** When the rule is removed, sign in to every node like this and close the connections the grant let in. */
  endSessions?: EndSessions;
  /** Where endSessions was set (file, line and key), for what can only be checked against AWS later. */
  endSessionsSetAt?: string;
  /** These people may open access at once, without approval; approvers review it afterwards. */
  breakGlass?: BreakGlassPolicy;
  /** The reason must contain a match of this regular expression (source text): the ticket reference. */
  reasonPattern?: string;
  /** Shown with reasonPattern when a reason has no ticket; contains a match. */
  reasonExample?: string;
  /** URL template of a ticket, {0} standing for it. */
  reasonLink?: string;
}

export interface BreakGlassPolicy {
  /** The longest (and the default) duration of a break-glass grant, in seconds. */
  maxDuration: number;
  /** Slack user and user group ids. */
  requesters: string[];
  /** A channel told of every break-glass grant, besides the approvers. */
  notify?: string;
  /** Break-glass grants one person may open in any 24 hours. */
  perDay: number;
}

export const BREAK_GLASS_DEFAULTS = { maxDuration: 3_600, perDay: 2 } as const;

export const BUILT_IN_DEFAULTS = {
  duration: 3_600,
  maxDuration: 8 * 3_600,
  minDuration: 300,
  pendingTimeout: 24 * 3_600,
  remindBefore: 600,
  approvals: 1,
  selfApproval: false,
  requireReason: false,
  requireDedicatedGroup: false,
  ruleQuota: 60,
  maxCidrPrefix: { ipv4: 24, ipv6: 64 },
  approversFromTags: false,
} as const;

export class Policy {
  private readonly matchers: Array<{ rule: ClusterPolicy; test: (id: string) => boolean }>;

  /** `warnings`: problems that do not stop loading, each with the file, line and key. */
  constructor(
    readonly rules: readonly ClusterPolicy[],
    readonly warnings: readonly string[] = [],
  ) {
    // ElastiCache ids are case-insensitive (AWS keeps them lower-case), so the globs are too.
    this.matchers = rules.map((rule) => ({ rule, test: picomatch(rule.match, { nocase: true }) }));
  }

  /** First rule whose glob matches the cluster id, in any case; undefined when none does. */
  ruleFor(clusterId: string): ClusterPolicy | undefined {
    return this.matchers.find((m) => m.test(clusterId))?.rule;
  }

  /** The rules ruleFor tries for the cluster id, in order, up to and including the one that matches. */
  triedFor(clusterId: string): Array<{ rule: ClusterPolicy; index: number; matched: boolean }> {
    const matchedAt = this.matchers.findIndex((m) => m.test(clusterId));
    const tried = matchedAt < 0 ? this.matchers : this.matchers.slice(0, matchedAt + 1);
    return tried.map(({ rule }, index) => ({ rule, index, matched: index === matchedAt }));
  }

  /** Whether the rule's own glob (the real matcher) matches the id. */
  matches(index: number, clusterId: string): boolean {
    return this.matchers[index]?.test(clusterId) ?? false;
  }
}

/** A policy and where its keys sit in the file, for tooling that reports on it (`cache-access policy check`). */
export interface PolicyDocument {
  policy: Policy;
  /** The line of the deepest key or item along the path that exists, e.g. ['clusters', 2, 'roleArn']. */
  lineOf(path: Array<string | number>): number;
}

/** Reads and validates the policy file; any problem throws with the file, line and key in the message. */
export function loadPolicy(path: string): Policy {
  return loadPolicyDocument(path).policy;
}

export function loadPolicyDocument(path: string): PolicyDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidInputError(`Cannot read policy file ${path}: ${(error as Error).message}`);
  }
  return readPolicyDocument(text, path);
}

export function parsePolicy(text: string, fileName = 'policy'): Policy {
  return readPolicyDocument(text, fileName).policy;
}

/** Validates as start-up does: any problem throws with the file, line and key. */
export function readPolicyDocument(text: string, fileName = 'policy'): PolicyDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0]?.line ?? lineCounter.linePos(yamlError.pos[0]).line;
    throw new InvalidInputError(`${fileName}:${line}: not valid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  const parsed = policySchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = [...issue.path, ...keys.slice(0, 1)].map((p) => (typeof p === 'symbol' ? String(p) : p));
    const line = lineOf(doc, path, lineCounter);
    const message = issue.code === 'unrecognized_keys' ? `unknown key "${keys.join('", "')}"` : issue.message;
    throw new InvalidInputError(`${fileName}:${line}: ${path.join('.') || '(top level)'}: ${message}`);
  }
  const given = parsed.data.defaults;
  const defaults = {
    ...BUILT_IN_DEFAULTS,
    ...given,
    maxCidrPrefix: { ...BUILT_IN_DEFAULTS.maxCidrPrefix, ...given?.maxCidrPrefix },
  };
  const rules = parsed.data.clusters.map((rule, index) => {
    const breakGlass = rule.breakGlass ?? given?.breakGlass;
    const merged: ClusterPolicy = {
      ...defaults,
      ...rule,
      breakGlass: breakGlass && { ...BREAK_GLASS_DEFAULTS, ...breakGlass },
      maxTotal: rule.maxTotal ?? given?.maxTotal ?? rule.maxDuration ?? defaults.maxDuration,
      allowedCidrs: rule.allowedCidrs ?? [],
      peeredVpcs: rule.peeredVpcs ?? [],
      maxCidrPrefix: { ...defaults.maxCidrPrefix, ...rule.maxCidrPrefix },
      endSessionsSetAt: endSessionsSetAt(doc, lineCounter, fileName, rule.endSessions ? ['clusters', index] : given?.endSessions ? ['defaults'] : undefined),
    };
    const problem =
      merged.minDuration > merged.maxDuration || merged.duration < merged.minDuration || merged.duration > merged.maxDuration
        ? 'duration must lie between minDuration and maxDuration'
        : merged.maxTotal < merged.maxDuration
          ? 'maxTotal must be at least maxDuration'
          : ticketSettingsProblem(merged);
    if (problem) {
      const node = doc.getIn(['clusters', index], true) as Node | undefined;
      const line = node?.range ? lineCounter.linePos(node.range[0]).line : 0;
      throw new InvalidInputError(`${fileName}:${line}: clusters.${index} (${rule.match}): ${problem}`);
    }
    if (merged.breakGlass && merged.breakGlass.maxDuration < merged.minDuration) {
      const key = rule.breakGlass ? ['clusters', index, 'breakGlass', 'maxDuration'] : ['defaults', 'breakGlass', 'maxDuration'];
      throw new InvalidInputError(
        `${fileName}:${lineOf(doc, key, lineCounter)}: clusters.${index} (${rule.match}): breakGlass.maxDuration must be at least minDuration`,
      );
    }
    return merged;
  });
  return {
    policy: new Policy(rules, roleArnWarnings(parsed.data.clusters, doc, lineCounter, fileName)),
    lineOf: (path) => lineOf(doc, path, lineCounter),
  };
}

/** reasonPattern, reasonExample and reasonLink as merged for a rule: each needs the pattern, the example must match it. */
function ticketSettingsProblem(rule: ClusterPolicy): string | undefined {
  const { reasonPattern, reasonExample, reasonLink } = rule;
  if (reasonPattern === undefined) {
    return reasonExample !== undefined || reasonLink !== undefined ? 'reasonExample and reasonLink need a reasonPattern' : undefined;
  }
  if (reasonExample === undefined) return 'reasonPattern needs a reasonExample (a reason with a ticket in it, shown to people who gave none)';
  if (!findTicket(reasonExample, reasonPattern)) return `reasonExample "${reasonExample}" contains no match of reasonPattern ${reasonPattern}`;
  return undefined;
}

/** The one role name the sts:AssumeRole statement of docs/iam-policy.json allows (`role/cache-access`, no path). */
export const DOCUMENTED_ROLE_NAME = 'cache-access';
/** The partition docs/iam-policy.json's ARNs name; other partitions need the document edited. */
export const DOCUMENTED_PARTITION = 'aws';

/** A roleArn the documented IAM policy would refuse to assume loads, since deployments may grant more, but is flagged. */
function roleArnWarnings(rules: Array<{ roleArn?: string }>, doc: Document, counter: LineCounter, fileName: string): string[] {
  return rules.flatMap(({ roleArn }, index) => {
    if (roleArn === undefined) return [];
    const partition = roleArn.split(':')[1];
    const roleName = roleArn.slice(roleArn.indexOf(':role/') + ':role/'.length);
    const where = `${fileName}:${lineOf(doc, ['clusters', index, 'roleArn'], counter)}: clusters.${index}.roleArn`;
    const refusal = 'the sts:AssumeRole statement of docs/iam-policy.json would refuse to assume it';
    return [
      ...(roleName === DOCUMENTED_ROLE_NAME ? [] : [`${where}: role "${roleName}" is not named ${DOCUMENTED_ROLE_NAME}: ${refusal}`]),
      ...(partition === DOCUMENTED_PARTITION
        ? []
        : [`${where}: partition "${partition}" is not the documented "${DOCUMENTED_PARTITION}": ${refusal} unless its ARNs are edited`]),
    ];
  });
}

/** "policy.yml:12: clusters.1.endSessions" for the endSessions key under `parent`. */
function endSessionsSetAt(doc: Document, counter: LineCounter, fileName: string, parent: Array<string | number> | undefined): string | undefined {
  if (!parent) return undefined;
  const path = [...parent, 'endSessions'];
  return `${fileName}:${lineOf(doc, path, counter)}: ${path.join('.')}`;
}

/** Line of the deepest key or item along `path` that exists (a missing key points at its parent). */
function lineOf(doc: Document, path: Array<string | number>, counter: LineCounter): number {
  for (let depth = path.length; depth > 0; depth--) {
    const parent = depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
    const segment = path[depth - 1];
    // The key's own line: a block value (a list under `foo:`) starts on the line after it.
    const node = isMap(parent)
      ? parent.items.find((pair) => isScalar(pair.key) && pair.key.value === segment)?.key
      : isSeq(parent) && typeof segment === 'number'
        ? parent.items[segment]
        : undefined;
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return 1;
}
