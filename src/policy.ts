import { readFileSync } from 'node:fs';
import picomatch from 'picomatch';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import * as z from 'zod';
import { parseDuration } from './domain/durations.js';
import { InvalidInputError } from './domain/errors.js';
import { canonicalCidr, isWholeInternet, SECURITY_GROUP_ID } from './domain/source.js';

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
};

const defaultsSchema = z.strictObject(settings).partial();

const clusterRuleSchema = z.strictObject({
  match: z.string().min(1),
  approvers: z.array(slackPrincipal).min(1, 'needs at least one approver'),
  channel: z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id (C… or G…)').optional(),
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
}

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
}

/** Reads and validates the policy file; any problem throws with the file, line and key in the message. */
export function loadPolicy(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidInputError(`Cannot read policy file ${path}: ${(error as Error).message}`);
  }
  return parsePolicy(text, path);
}

export function parsePolicy(text: string, fileName = 'policy'): Policy {
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
    const merged: ClusterPolicy = {
      ...defaults,
      ...rule,
      maxTotal: rule.maxTotal ?? given?.maxTotal ?? rule.maxDuration ?? defaults.maxDuration,
      allowedCidrs: rule.allowedCidrs ?? [],
      peeredVpcs: rule.peeredVpcs ?? [],
      maxCidrPrefix: { ...defaults.maxCidrPrefix, ...rule.maxCidrPrefix },
    };
    if (merged.minDuration > merged.maxDuration || merged.duration < merged.minDuration || merged.duration > merged.maxDuration) {
      const node = doc.getIn(['clusters', index], true) as Node | undefined;
      const line = node?.range ? lineCounter.linePos(node.range[0]).line : 0;
      throw new InvalidInputError(
        `${fileName}:${line}: clusters.${index} (${rule.match}): duration must lie between minDuration and maxDuration`,
      );
    }
    if (merged.maxTotal < merged.maxDuration) {
      const node = doc.getIn(['clusters', index], true) as Node | undefined;
      const line = node?.range ? lineCounter.linePos(node.range[0]).line : 0;
      throw new InvalidInputError(`${fileName}:${line}: clusters.${index} (${rule.match}): maxTotal must be at least maxDuration`);
    }
    return merged;
  });
  return new Policy(rules, roleArnWarnings(parsed.data.clusters, doc, lineCounter, fileName));
}

/** The one role name the sts:AssumeRole statement of docs/iam-policy.json allows (`role/cache-access`, no path). */
export const DOCUMENTED_ROLE_NAME = 'cache-access';

/** A roleArn the documented IAM policy would refuse to assume loads, since deployments may grant more, but is flagged. */
function roleArnWarnings(rules: Array<{ roleArn?: string }>, doc: Document, counter: LineCounter, fileName: string): string[] {
  return rules.flatMap(({ roleArn }, index) => {
    const roleName = roleArn?.slice(roleArn.indexOf(':role/') + ':role/'.length);
    if (roleName === undefined || roleName === DOCUMENTED_ROLE_NAME) return [];
    const line = lineOf(doc, ['clusters', index, 'roleArn'], counter);
    return [
      `${fileName}:${line}: clusters.${index}.roleArn: role "${roleName}" is not named ${DOCUMENTED_ROLE_NAME}: ` +
        'the sts:AssumeRole statement of docs/iam-policy.json would refuse to assume it',
    ];
  });
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
