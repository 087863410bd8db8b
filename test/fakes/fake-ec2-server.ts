/**
 * A small EC2 Query API over real HTTP, for tests that run the program as a child process with
 * AWS_ENDPOINT_URL pointing here (the in-process FakeAwsAccount cannot reach another process).
 * It knows security-group rules: Authorize (which a test can hold open, to catch a job in flight),
 * Revoke and DescribeSecurityGroupRules; and, for the replication groups a test gives it,
 * ElastiCache's DescribeReplicationGroups and ListTagsForResource. Anything else gets the error AWS
 * gives for an unknown action, in the caller's protocol.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const ELASTICACHE_VERSION = '2015-02-02';

export interface FakeEc2Rule {
  ruleId: string;
  groupId: string;
  port: number;
  /** cache-access:grant-id and the other tags it set. */
  tags: Record<string, string>;
}

export interface FakeEc2 {
  /** For AWS_ENDPOINT_URL. */
  readonly url: string;
  /** Every call, in order, as its Action and form parameters. */
  readonly calls: Array<{ action: string; params: URLSearchParams }>;
  readonly rules: Map<string, FakeEc2Rule>;
  /** Holds AuthorizeSecurityGroupIngress calls until releaseAuthorize(); resolves when the first arrives. */
  holdAuthorize(): Promise<void>;
  releaseAuthorize(): void;
  close(): Promise<void>;
}

export interface FakeEc2Options {
  /** Replication groups ElastiCache knows, by id, with their tags. */
  replicationGroups?: Record<string, Record<string, string>>;
}

export async function startFakeEc2(options: FakeEc2Options = {}): Promise<FakeEc2> {
  const replicationGroups = options.replicationGroups ?? {};
  const calls: FakeEc2['calls'] = [];
  const rules = new Map<string, FakeEc2Rule>();
  let nextRule = 1;
  let held: { arrived: () => void; release: Promise<void>; open: () => void } | undefined;

  const authorize = async (params: URLSearchParams): Promise<string> => {
    if (held) {
      held.arrived();
      await held.release;
    }
    const ruleId = `sgr-${String(nextRule++).padStart(17, '0')}`;
    const groupId = params.get('GroupId') ?? '';
    const port = Number(params.get('IpPermissions.1.FromPort'));
    const tags: Record<string, string> = {};
    for (let i = 1; params.has(`TagSpecification.1.Tag.${i}.Key`); i += 1) {
      tags[params.get(`TagSpecification.1.Tag.${i}.Key`)!] = params.get(`TagSpecification.1.Tag.${i}.Value`) ?? '';
    }
    rules.set(ruleId, { ruleId, groupId, port, tags });
    return ec2Response('AuthorizeSecurityGroupIngress', `<return>true</return><securityGroupRuleSet>${ruleXml(rules.get(ruleId)!)}</securityGroupRuleSet>`);
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
    calls.push({ action, params });
    const reply = (status: number, xml: string) => {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(xml);
    };
    if (params.get('Version') === ELASTICACHE_VERSION) {
      const answer = elastiCacheAnswer(replicationGroups, action, params);
      if (answer) return reply(answer.status, answer.xml);
      return reply(400, elastiCacheError('InvalidAction', `${action} is not faked.`));
    }
    switch (action) {
      case 'AuthorizeSecurityGroupIngress':
        return reply(200, await authorize(params));
      case 'RevokeSecurityGroupIngress': {
        const removed = valuesOf(params, 'SecurityGroupRuleId').filter((id) => rules.delete(id));
        return reply(200, ec2Response(action, `<return>${removed.length > 0}</return>`));
      }
      case 'DescribeSecurityGroupRules':
        return reply(200, describe(params));
      default:
        return reply(400, `<Response><Errors><Error><Code>InvalidAction</Code><Message>${action} is not faked.</Message></Error></Errors><RequestID>r</RequestID></Response>`);
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
    holdAuthorize() {
      let arrived!: () => void;
      let open!: () => void;
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      held = { arrived, open: () => open(), release: new Promise<void>((resolve) => (open = resolve)) };
      return arrival;
    },
    releaseAuthorize() {
      held?.open();
      held = undefined;
    },
    async close() {
      held?.open();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function ec2Response(action: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><${action}Response xmlns="${EC2_XMLNS}"><requestId>r</requestId>${inner}</${action}Response>`;
}

function ruleXml(rule: FakeEc2Rule): string {
  const tags = Object.entries(rule.tags).map(([key, value]) => `<item><key>${key}</key><value>${value}</value></item>`).join('');
  return `<item><securityGroupRuleId>${rule.ruleId}</securityGroupRuleId><groupId>${rule.groupId}</groupId><isEgress>false</isEgress><ipProtocol>tcp</ipProtocol><fromPort>${rule.port}</fromPort><toPort>${rule.port}</toPort><tagSet>${tags}</tagSet></item>`;
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

function elastiCacheError(code: string, message: string): string {
  return `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`;
}
