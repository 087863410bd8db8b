/**
 * The adapters behind the use cases are made in one module, src/wiring.ts, for the bot and the CLI
 * alike; the CLI still loads it (and the AWS, Slack and BullMQ libraries) only when a command runs a
 * use case.
 */
import { describe, expect, test } from 'vitest';
import { importsUnder, loadedWith } from '../support/source-imports.js';

/** What only the wiring module (and the adapters themselves) may make: the use cases' adapters and AWS clients. */
const WIRED_ONLY = [
  '@aws-sdk/client-ec2',
  '@aws-sdk/client-elasticache',
  '@aws-sdk/client-sts',
  'src/adapters/aws/client-pool.ts',
  'src/adapters/aws/credentials.ts',
  'src/adapters/aws/ec2-firewall.ts',
  'src/adapters/aws/elasticache-directory.ts',
  'src/adapters/aws/metered.ts',
  'src/adapters/aws/rate-limited-firewall.ts',
  'src/adapters/queue/bullmq-scheduler.ts',
  'src/adapters/slack/notifier.ts',
  'src/adapters/slack/people-directory.ts',
  'src/adapters/slack/web-client.ts',
  'src/adapters/without-slack.ts',
];

const HEAVY_PACKAGES = /^(@aws-sdk\/|@slack\/|bullmq$|ioredis$)/;

describe('wiring', () => {
  test('the use cases\' adapters are made in src/wiring.ts alone, not again in main.ts or the CLI', () => {
    const elsewhere = importsUnder('src')
      .filter((i) => i.kind !== 'type' && WIRED_ONLY.includes(i.imported))
      .filter((i) => i.importer !== 'src/wiring.ts' && !i.importer.startsWith('src/adapters/'))
      .map((i) => `${i.importer} imports ${i.imported}`);
    expect(elsewhere).toEqual([]);
  });

  test('the bot and the CLI both use it', () => {
    const users = importsUnder('src').filter((i) => i.imported === 'src/wiring.ts' && i.kind !== 'type');
    expect(users.map((i) => i.importer).sort()).toEqual(['src/cli/use-case-deps.ts', 'src/main.ts']);
  });

  test('the CLI loads it, and the AWS, Slack and BullMQ libraries, only when a command needs them', () => {
    const loaded = [...loadedWith('src/cli.ts')];
    expect(loaded).toContain('src/cli/composition.ts');
    expect(loaded.filter((module) => module === 'src/wiring.ts' || HEAVY_PACKAGES.test(module))).toEqual([]);
  });
});
