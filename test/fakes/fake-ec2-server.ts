/**
 * A small EC2 Query API over real HTTP, for tests that run the program as a child process with
 * AWS_ENDPOINT_URL pointing here (the in-process FakeAwsAccount cannot reach another process).
 * It knows security-group rules: Authorize (identical rules are one rule, as in AWS, so a second
 * Authorize of one is refused as a duplicate), Revoke and DescribeSecurityGroupRules (a test can hold
 * Authorize or Revoke calls open, to catch a job in flight; a held call takes effect when released, as in
 * AWS, even if its caller has gone meanwhile: only the answer is lost); for the replication groups a test
 * gives it, ElastiCache's DescribeReplicationGroups and ListTagsForResource; and for the cache clusters it gives, what a
 * request looks up (DescribeCacheClusters, DescribeSecurityGroups of their groups,
 * DescribeNetworkInterfaces). Anything else gets the error AWS gives for an unknown action, in the
 * caller's protocol.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const ELASTICACHE_VERSION = '2015-02-02';

export interface FakeEc2Rule {
  ruleId: string;
  groupId: string;
  port: number;
  /** The CIDR (IPv4 or IPv6) or the security group the rule lets in. */
  source: { cidr: string } | { groupId: string };
  /** cache-access:grant-id and the other tags it set. */
  tags: Record<string, string>;
}

export interface FakeEc2 {
  /** For AWS_ENDPOINT_URL. */
  readonly url: string;
  /**
   * Every call, in order, as its Action and form parameters, when it arrived (Date.now()), and the access
   * key id it was signed with (processes given keys of their own can be told apart).
   */
  readonly calls: Array<{ action: string; params: URLSearchParams; at: number; caller: string }>;
  /** The rules in place now, by rule id. */
  readonly rules: Map<string, FakeEc2Rule>;
  /** Every rule ever added, in order (removed ones too). */
  readonly added: FakeEc2Rule[];
  /** The callers (access key ids) of the Authorize calls held open right now, one entry per call (see holdAuthorize). */
  readonly heldAuthorizes: readonly string[];
  /** Holds AuthorizeSecurityGroupIngress calls until releaseAuthorize(); resolves when the first arrives. */
  holdAuthorize(): Promise<void>;
  releaseAuthorize(): void;
  /** The callers of the Revoke calls held open right now, one entry per call (see holdRevoke). */
  readonly heldRevokes: readonly string[];
  /** Holds RevokeSecurityGroupIngress calls until releaseRevoke(); resolves when the first arrives. */
  holdRevoke(): Promise<void>;
  /** The held Revoke calls remove their rules, and are answered if their callers are still there. */
  releaseRevoke(): void;
  close(): Promise<void>;
}

/** A single-node cache cluster, in one security group (which the fake knows too, in the cluster's VPC). */
export interface FakeCacheCluster {
  engine: 'redis' | 'valkey' | 'memcached';
  port: number;
  securityGroupId: string;
  vpcId: string;
}

export interface FakeEc2Options {
  /** Replication groups ElastiCache knows, by id, with their tags. */
  replicationGroups?: Record<string, Record<string, string>>;
  /** Cache clusters ElastiCache knows, by id. */
  cacheClusters?: Record<string, FakeCacheCluster>;
}

/** The account the fake's security groups belong to. */
export const FAKE_ACCOUNT_ID = '123456789012';

export async function startFakeEc2(options: FakeEc2Options = {}): Promise<FakeEc2> {
  const replicationGroups = options.replicationGroups ?? {};
  const cacheClusters = options.cacheClusters ?? {};
  const calls: FakeEc2['calls'] = [];
  const rules = new Map<string, FakeEc2Rule>();
  const added: FakeEc2Rule[] = [];
  let nextRule = 1;
  const authorizeGate = callGate();
  const revokeGate = callGate();

  const authorize = async (params: URLSearchParams, caller: string): Promise<{ status: number; xml: string }> => {
    await authorizeGate.pass(caller);
    const groupId = params.get('GroupId') ?? '';
    const port = Number(params.get('IpPermissions.1.FromPort'));
    const source = sourceOf(params);
    const same = [...rules.values()].find((rule) => rule.groupId === groupId && rule.port === port && sameSource(rule.source, source));
    if (same) {
      const message = `the specified rule "peer: ${JSON.stringify(source)}, TCP, from port: ${port}, to port: ${port}, ALLOW" already exists`;
      return { status: 400, xml: ec2Error('InvalidPermission.Duplicate', message) };
    }
    const ruleId = `sgr-${String(nextRule++).padStart(17, '0')}`;
    const tags: Record<string, string> = {};
    for (let i = 1; params.has(`TagSpecification.1.Tag.${i}.Key`); i += 1) {
      tags[params.get(`TagSpecification.1.Tag.${i}.Key`)!] = params.get(`TagSpecification.1.Tag.${i}.Value`) ?? '';
    }
    const rule = { ruleId, groupId, port, source, tags };
    rules.set(ruleId, rule);
    added.push(rule);
    return { status: 200, xml: ec2Response('AuthorizeSecurityGroupIngress', `<return>true</return><securityGroupRuleSet>${ruleXml(rule)}</securityGroupRuleSet>`) };
  };

  const describe = (params: URLSearchParams): string => {
    const ids = valuesOf(params, 'SecurityGroupRuleId');
    const groups = filterValues(params, 'group-id');
    const tagKeys = filterValues(params, 'tag-key');
    const found = [...rules.values()].filter(
      (rule) =>
        (ids.length === 0 || ids.includes(rule.ruleId)) &&
        (groups === undefined || groups.includes(rule.groupId)) &&
        (tagKeys === undefined || tagKeys.some((key) => key in rule.tags)),
    );
    return ec2Response('DescribeSecurityGroupRules', `<securityGroupRuleSet>${found.map(ruleXml).join('')}</securityGroupRuleSet>`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const params = new URLSearchParams(body);
    const action = params.get('Action') ?? '';
    // SigV4: "AWS4-HMAC-SHA256 Credential=<access key id>/<date>/<region>/<service>/aws4_request, …".
    const caller = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '';
    calls.push({ action, params, at: Date.now(), caller });
    const reply = (status: number, xml: string) => {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(xml);
    };
    if (params.get('Version') === ELASTICACHE_VERSION) {
      const answer = elastiCacheAnswer(replicationGroups, action, params) ?? cacheClusterAnswer(cacheClusters, action, params);
      if (answer) return reply(answer.status, answer.xml);
      return reply(400, elastiCacheError('InvalidAction', `${action} is not faked.`));
    }
    switch (action) {
      case 'AuthorizeSecurityGroupIngress': {
        const answer = await authorize(params, caller);
        return reply(answer.status, answer.xml);
      }
      case 'RevokeSecurityGroupIngress': {
        await revokeGate.pass(caller);
        // Whether or not the caller is still connected: AWS acts on a call it has received (reply() below
        // writes nothing to a closed socket).
        const removed = valuesOf(params, 'SecurityGroupRuleId').filter((id) => rules.delete(id));
        return reply(200, ec2Response(action, `<return>${removed.length > 0}</return>`));
      }
      case 'DescribeSecurityGroupRules':
        return reply(200, describe(params));
      case 'DescribeSecurityGroups': {
        const groups = Object.values(cacheClusters).filter((cluster) => valuesOf(params, 'GroupId').includes(cluster.securityGroupId));
        if (groups.length === 0) return reply(400, ec2Error('InvalidGroup.NotFound', `The security group '${valuesOf(params, 'GroupId').join(', ')}' does not exist`));
        return reply(200, ec2Response(action, `<securityGroupInfo>${groups.map(securityGroupXml).join('')}</securityGroupInfo>`));
      }
      case 'DescribeNetworkInterfaces':
        // The clusters' own interfaces only, which the exposure check leaves out anyway: none are listed.
        return reply(200, ec2Response(action, '<networkInterfaceSet/>'));
      default:
        return reply(400, ec2Error('InvalidAction', `${action} is not faked.`));
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    rules,
    added,
    heldAuthorizes: authorizeGate.callers,
    holdAuthorize: () => authorizeGate.hold(),
    releaseAuthorize: () => authorizeGate.release(),
    heldRevokes: revokeGate.callers,
    holdRevoke: () => revokeGate.hold(),
    releaseRevoke: () => revokeGate.release(),
    async close() {
      authorizeGate.release();
      revokeGate.release();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Holds the calls of one action while closed: hold() closes it, release() lets the held calls and later ones through. */
function callGate() {
  let held: { arrived: () => void; release: Promise<void>; open: () => void } | undefined;
  const callers: string[] = [];
  return {
    /** The callers of the calls waiting now, one entry per call. */
    callers,
    /** Resolves at once while open; while closed, when released. */
    async pass(caller: string): Promise<void> {
      if (!held) return;
      held.arrived();
      callers.push(caller);
      await held.release;
      callers.splice(callers.indexOf(caller), 1);
    },
    /** Resolves when the first call arrives. */
    hold(): Promise<void> {
      let arrived!: () => void;
      let open!: () => void;
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      held = { arrived, open: () => open(), release: new Promise<void>((resolve) => (open = resolve)) };
      return arrival;
    },
    release(): void {
      held?.open();
      held = undefined;
    },
  };
}

function ec2Response(action: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><${action}Response xmlns="${EC2_XMLNS}"><requestId>r</requestId>${inner}</${action}Response>`;
}

function ec2Error(code: string, message: string): string {
  return `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>r</RequestID></Response>`;
}

function ruleXml(rule: FakeEc2Rule): string {
  const tags = Object.entries(rule.tags).map(([key, value]) => `<item><key>${key}</key><value>${value}</value></item>`).join('');
  const source =
    'groupId' in rule.source
      ? `<referencedGroupInfo><groupId>${rule.source.groupId}</groupId></referencedGroupInfo>`
      : rule.source.cidr.includes(':')
        ? `<cidrIpv6>${rule.source.cidr}</cidrIpv6>`
        : `<cidrIpv4>${rule.source.cidr}</cidrIpv4>`;
  return `<item><securityGroupRuleId>${rule.ruleId}</securityGroupRuleId><groupId>${rule.groupId}</groupId><isEgress>false</isEgress><ipProtocol>tcp</ipProtocol><fromPort>${rule.port}</fromPort><toPort>${rule.port}</toPort>${source}<tagSet>${tags}</tagSet></item>`;
}

/** The one source of an Authorize's first permission: an IPv4 or IPv6 range, or a security group. */
function sourceOf(params: URLSearchParams): FakeEc2Rule['source'] {
  const cidr = params.get('IpPermissions.1.IpRanges.1.CidrIp') ?? params.get('IpPermissions.1.Ipv6Ranges.1.CidrIpv6');
  return cidr === null ? { groupId: params.get('IpPermissions.1.Groups.1.GroupId') ?? '' } : { cidr };
}

function sameSource(a: FakeEc2Rule['source'], b: FakeEc2Rule['source']): boolean {
  return 'cidr' in a ? 'cidr' in b && a.cidr === b.cidr : 'groupId' in b && a.groupId === b.groupId;
}

function securityGroupXml(cluster: FakeCacheCluster): string {
  return `<item><ownerId>${FAKE_ACCOUNT_ID}</ownerId><groupId>${cluster.securityGroupId}</groupId><groupName>${cluster.securityGroupId}-name</groupName><vpcId>${cluster.vpcId}</vpcId><tagSet/></item>`;
}

/** Values of a list parameter such as SecurityGroupRuleId.1, SecurityGroupRuleId.2, … */
function valuesOf(params: URLSearchParams, name: string): string[] {
  const values: string[] = [];
  for (let i = 1; params.has(`${name}.${i}`); i += 1) values.push(params.get(`${name}.${i}`)!);
  return values;
}

/** The values of filter `name` (Filter.N.Name / Filter.N.Value.M), or undefined when not filtered on. */
function filterValues(params: URLSearchParams, name: string): string[] | undefined {
  for (let i = 1; params.has(`Filter.${i}.Name`); i += 1) {
    if (params.get(`Filter.${i}.Name`) === name) return valuesOf(params, `Filter.${i}.Value`);
  }
  return undefined;
}

const REPLICATION_GROUP_ARN = 'arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:';

/** DescribeReplicationGroups and ListTagsForResource for the given groups; undefined for other actions. */
function elastiCacheAnswer(
  groups: Record<string, Record<string, string>>,
  action: string,
  params: URLSearchParams,
): { status: number; xml: string } | undefined {
  const result = (inner: string) => ({
    status: 200,
    xml: `<${action}Response xmlns="http://elasticache.amazonaws.com/doc/${ELASTICACHE_VERSION}/"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${action}Response>`,
  });
  if (action === 'DescribeReplicationGroups') {
    const id = params.get('ReplicationGroupId') ?? '';
    if (!(id in groups)) return { status: 404, xml: elastiCacheError('ReplicationGroupNotFoundFault', `Replication group ${id} not found.`) };
    return result(`<ReplicationGroups><ReplicationGroup><ReplicationGroupId>${id}</ReplicationGroupId><ARN>${REPLICATION_GROUP_ARN}${id}</ARN></ReplicationGroup></ReplicationGroups>`);
  }
  if (action === 'ListTagsForResource') {
    const tags = groups[(params.get('ResourceName') ?? '').slice(REPLICATION_GROUP_ARN.length)] ?? {};
    return result(`<TagList>${Object.entries(tags).map(([key, value]) => `<Tag><Key>${key}</Key><Value>${value}</Value></Tag>`).join('')}</TagList>`);
  }
  return undefined;
}

/** DescribeCacheClusters (one by id, or all) for the given clusters; undefined for other actions. */
function cacheClusterAnswer(
  clusters: Record<string, FakeCacheCluster>,
  action: string,
  params: URLSearchParams,
): { status: number; xml: string } | undefined {
  if (action !== 'DescribeCacheClusters') return undefined;
  const id = params.get('CacheClusterId');
  if (id !== null && !(id in clusters)) return { status: 404, xml: elastiCacheError('CacheClusterNotFound', `CacheCluster ${id} not found.`) };
  const listed = Object.entries(clusters).filter(([clusterId]) => id === null || clusterId === id);
  const xml = listed.map(
    ([clusterId, cluster]) =>
      `<CacheCluster><CacheClusterId>${clusterId}</CacheClusterId><CacheClusterStatus>available</CacheClusterStatus><Engine>${cluster.engine}</Engine>` +
      `<ARN>arn:aws:elasticache:eu-west-1:${FAKE_ACCOUNT_ID}:cluster:${clusterId}</ARN>` +
      `<CacheNodes><CacheNode><CacheNodeId>0001</CacheNodeId><Endpoint><Address>${clusterId}.abc123.0001.euw1.cache.amazonaws.com</Address><Port>${cluster.port}</Port></Endpoint></CacheNode></CacheNodes>` +
      `<SecurityGroups><member><SecurityGroupId>${cluster.securityGroupId}</SecurityGroupId><Status>active</Status></member></SecurityGroups></CacheCluster>`,
  );
  return {
    status: 200,
    xml: `<${action}Response xmlns="http://elasticache.amazonaws.com/doc/${ELASTICACHE_VERSION}/"><${action}Result><CacheClusters>${xml.join('')}</CacheClusters></${action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${action}Response>`,
  };
}

function elastiCacheError(code: string, message: string): string {
  return `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`;
}
