/**
 * AWS as several places, faked at the ports (Firewall, ClusterDirectory) rather than at the SDK edge:
 * each place is an account in a region with its own security groups, rules and clusters. A location
 * (region + roleArn) reaches the place of the role's account in that region; two roles may reach one
 * account. Calls that name a group the place lacks answer as AWS does there ("already-gone", false,
 * nothing listed, group not found). Identical rules are one rule, as in AWS. Faults can be armed per
 * action, and every removal is recorded, so a test can tell whether a hand-made rule was ever removed.
 */
import type {
  AuthorizeResult,
  AwsLocation,
  ClusterDirectory,
  ClusterInfo,
  Firewall,
  GroupExposure,
  RuleSpec,
  RuleTags,
  SecurityGroupInfo,
  TaggedRule,
  VpcPeering,
} from '../../src/app/ports.js';
import { UpstreamError } from '../../src/domain/errors.js';

/** The region a location without one means: the bot's own. */
export const HOME_REGION = 'eu-west-1';

export interface PlacedRule {
  awsRuleId: string;
  spec: RuleSpec;
  /** cache-access's tags; absent on a rule someone made by hand. */
  tags?: RuleTags;
}

interface Place {
  accountId: string;
  region: string;
  groups: Map<string, { vpcId: string; rules: Map<string, PlacedRule> }>;
  clusters: Map<string, ClusterInfo>;
}

export type AwsAction = 'authorize' | 'revoke' | 'ruleExists' | 'listTaggedRules' | 'findCluster' | 'findSecurityGroup';
export type AwsFaultKind = 'throttling' | 'refusal';

export interface Removal {
  place: string;
  rule: PlacedRule;
}

export class FakeAwsPlaces implements Firewall, ClusterDirectory {
  private readonly places = new Map<string, Place>();
  private readonly faults = new Map<AwsAction, { kind: AwsFaultKind; left: number }>();
  private nextRuleNumber = 1;
  /** Every rule revoke removed, in order. */
  readonly removals: Removal[] = [];

  /**
   * @param homeAccountId the account the bot's own credentials reach.
   * @param roles role ARN → the account it reaches.
   */
  constructor(
    private readonly homeAccountId: string,
    private readonly roles: Record<string, string>,
  ) {}

  addGroup(accountId: string, region: string, groupId: string, vpcId: string): void {
    this.placeFor(accountId, region).groups.set(groupId, { vpcId, rules: new Map() });
  }

  addCluster(accountId: string, region: string, cluster: Omit<ClusterInfo, 'accountId' | 'region'>): void {
    this.placeFor(accountId, region).clusters.set(cluster.id, { ...cluster, accountId, region });
  }

  /** The next `count` calls of `action` fail: throttling (retryable) or a refusal (not retryable). */
  failNext(action: AwsAction, count: number, kind: AwsFaultKind): void {
    this.faults.set(action, { kind, left: count });
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Adds an untagged rule, as a person would; nothing when AWS already has an identical one. */
  addHandMadeRule(location: AwsLocation, spec: RuleSpec): string | undefined {
    const group = this.reach(location).groups.get(spec.securityGroupId);
    if (!group || findIdentical(group.rules, spec)) return undefined;
    return this.store(group.rules, spec, undefined);
  }

  /** Whether the place `location` reaches has rule `awsRuleId`. */
  hasRule(location: AwsLocation, awsRuleId: string): boolean {
    return [...this.reach(location).groups.values()].some((group) => group.rules.has(awsRuleId));
  }

  /** Every rule in every place, with the place's name. */
  allRules(): Array<{ place: string; rule: PlacedRule }> {
    return [...this.places.entries()].flatMap(([place, { groups }]) =>
      [...groups.values()].flatMap((group) => [...group.rules.values()].map((rule) => ({ place, rule }))),
    );
  }

  // ---------- Firewall ----------

  async authorize(spec: RuleSpec, _description: string, tags: RuleTags, location?: AwsLocation): Promise<AuthorizeResult> {
    const group = this.groupOrThrow('authorize', spec.securityGroupId, location);
    const existing = findIdentical(group.rules, spec);
    if (existing) return { outcome: 'duplicate', awsRuleId: existing.awsRuleId, ...(existing.tags ? { grantId: existing.tags.grantId } : {}) };
    return { outcome: 'created', awsRuleId: this.store(group.rules, spec, tags) };
  }

  async revoke(securityGroupId: string, awsRuleId: string, location?: AwsLocation): Promise<'removed' | 'already-gone'> {
    const place = this.call('revoke', location);
    const rules = place.groups.get(securityGroupId)?.rules;
    const rule = rules?.get(awsRuleId);
    if (!rules || !rule) return 'already-gone';
    rules.delete(awsRuleId);
    this.removals.push({ place: nameOf(place), rule });
    return 'removed';
  }

  async ruleExists(securityGroupId: string, awsRuleId: string, location?: AwsLocation): Promise<boolean> {
    return this.call('ruleExists', location).groups.get(securityGroupId)?.rules.has(awsRuleId) ?? false;
  }

  async listTaggedRules(securityGroupIds: string[], location?: AwsLocation): Promise<TaggedRule[]> {
    const place = this.call('listTaggedRules', location);
    return securityGroupIds.flatMap((securityGroupId) =>
      [...(place.groups.get(securityGroupId)?.rules.values() ?? [])]
        .filter((rule) => rule.tags)
        .map((rule) => ({ awsRuleId: rule.awsRuleId, securityGroupId, grantId: rule.tags!.grantId })),
    );
  }

  // ---------- ClusterDirectory ----------

  async findCluster(id: string, location?: AwsLocation): Promise<ClusterInfo | undefined> {
    const wanted = id.toLowerCase();
    const clusters = [...this.call('findCluster', location).clusters.values()];
    return clusters.find((cluster) => cluster.id === wanted || cluster.memberIds.includes(wanted));
  }

  async findSecurityGroup(id: string, location?: AwsLocation): Promise<SecurityGroupInfo | undefined> {
    const place = this.call('findSecurityGroup', location);
    const group = place.groups.get(id);
    return group && { id, name: id, vpcId: group.vpcId, ownerId: place.accountId, tags: {} };
  }

  async exposureOf(groupId: string, _cluster: ClusterInfo, location?: AwsLocation): Promise<GroupExposure> {
    const rules = this.reach(location).groups.get(groupId)?.rules.size ?? 0;
    return { otherClusters: [], otherInterfaces: [], inboundRuleCount: rules };
  }

  async findPeering(): Promise<VpcPeering | undefined> {
    return undefined;
  }

  async clusterTags(): Promise<Record<string, string>> {
    return {};
  }

  async listClusterIds(location?: AwsLocation): Promise<string[]> {
    return [...this.reach(location).clusters.keys()];
  }

  // ---------- internals ----------

  private store(rules: Map<string, PlacedRule>, spec: RuleSpec, tags: RuleTags | undefined): string {
    const awsRuleId = `sgr-${String(this.nextRuleNumber++).padStart(17, '0')}`;
    rules.set(awsRuleId, { awsRuleId, spec: { ...spec, source: { ...spec.source } }, ...(tags ? { tags } : {}) });
    return awsRuleId;
  }

  private groupOrThrow(action: AwsAction, groupId: string, location: AwsLocation | undefined) {
    const group = this.call(action, location).groups.get(groupId);
    if (!group) throw new UpstreamError('aws', 'InvalidGroup.NotFound', `The security group '${groupId}' does not exist`, false);
    return group;
  }

  /** The place a call reaches, after any armed fault of its action. */
  private call(action: AwsAction, location: AwsLocation | undefined): Place {
    const fault = this.faults.get(action);
    if (fault && fault.left > 0) {
      fault.left -= 1;
      if (fault.kind === 'throttling') throw new UpstreamError('aws', 'RequestLimitExceeded', `${action}: Request limit exceeded.`, true);
      throw new UpstreamError('aws', 'UnauthorizedOperation', `${action}: You are not authorized to perform this operation.`, false);
    }
    return this.reach(location);
  }

  private reach(location: AwsLocation | undefined): Place {
    const accountId = location?.roleArn ? this.roles[location.roleArn] : this.homeAccountId;
    if (accountId === undefined) throw new UpstreamError('aws', 'AccessDenied', `Cannot assume ${location?.roleArn}.`, false);
    return this.placeFor(accountId, location?.region ?? HOME_REGION);
  }

  private placeFor(accountId: string, region: string): Place {
    const key = `${accountId}/${region}`;
    if (!this.places.has(key)) this.places.set(key, { accountId, region, groups: new Map(), clusters: new Map() });
    return this.places.get(key)!;
  }
}

function nameOf(place: Place): string {
  return `${place.accountId}/${place.region}`;
}

function findIdentical(rules: Map<string, PlacedRule>, spec: RuleSpec): PlacedRule | undefined {
  const same = (rule: PlacedRule) =>
    rule.spec.protocol === spec.protocol &&
    rule.spec.port === spec.port &&
    sourceKey(rule.spec.source) === sourceKey(spec.source);
  return [...rules.values()].find(same);
}

function sourceKey(source: RuleSpec['source']): string {
  return source.kind === 'cidr' ? `cidr:${source.cidr}` : `sg:${source.groupId}`;
}
