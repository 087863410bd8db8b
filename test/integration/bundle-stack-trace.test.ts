/**
 * The production bundle keeps stack traces readable: run as the image runs it (node --enable-source-maps
 * dist/main.js), a start-up failure logs a stack that names our source files, not lines of dist/main.js.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildProgram, inheritedEnv, runProgram, type BuiltProgram } from '../fakes/built-program.js';

let program: BuiltProgram;
let dir: string;

beforeAll(async () => {
  program = await buildProgram();
  dir = mkdtempSync(join(tmpdir(), 'cache-access-stack-'));
}, 180_000);
afterAll(() => {
  program?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a fatal start-up error is logged with a stack mapped back to src/', async () => {
  writeFileSync(join(dir, 'policy.yml'), 'clusters: [');
  const run = await runProgram(join(program.dist, 'main.js'), [], {
    NODE_OPTIONS: [inheritedEnv().NODE_OPTIONS, '--enable-source-maps'].filter(Boolean).join(' '),
    SLACK_BOT_TOKEN: 'xoxb-stack-test',
    SLACK_SIGNING_SECRET: 'stack-test-secret',
    DATABASE_PATH: join(dir, 'cache-access.db'),
    REDIS_URL: 'redis://127.0.0.1:1',
    POLICY_FILE: join(dir, 'policy.yml'),
  });
  expect(run.exitCode).toBe(1);
  const fatal = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { level: number; err: { stack: string } };
  expect(fatal.level).toBe(60);
  expect(fatal.err.stack).toMatch(/\bsrc\/policy\.ts:\d+:\d+/);
  expect(fatal.err.stack).not.toMatch(/dist\/main\.js:\d+/);
});
