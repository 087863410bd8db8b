/**
 * No Docker engine runs where the tests do, so the Dockerfile is parsed and checked for what the
 * deployment relies on: Node 24 base images, stages, native build, the command and non-root user the
 * container runs, data volume, health check, and that everything it copies exists (dist/ by way of the
 * build script's outDir). The HEALTHCHECK command itself is run against a local HTTP server.
 * Not checked here, for want of an engine: that the image builds (the tags pull, better-sqlite3
 * compiles on the slim image), that the base image's `node` user and its docker-entrypoint.sh (which
 * runs a CMD that is a command as given) are as the official images document, and that the container
 * starts. Node 24 itself is covered by CI running the whole suite on it (.ci/run).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { posix } from 'node:path';
import picomatch from 'picomatch';
import { afterEach, describe, expect, test } from 'vitest';
import { BUNDLED_NODE_ARGS } from '../../bench/bot-process.js';
import { all, commandOf, copiesOf, envOf, last, parseDockerfile, stagesOf, workdirOf, type Copy, type Instruction } from '../support/dockerfile.js';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const stages = stagesOf(parseDockerfile(dockerfile));
const build = stages[0]!;
const runtime = stages.at(-1)!;
const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };

describe('Dockerfile', () => {
  test('builds on Node 24 LTS with build tools, then runs on a slim Node 24 image of the same Debian', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build.image).toMatch(/^node:24(\.[\d.]+)?-bookworm$/);
    expect(runtime.image).toMatch(/^node:24(\.[\d.]+)?-bookworm-slim$/);
    const buildRuns = all(build, 'RUN').map((i) => i.args);
    expect(buildRuns).toContainEqual(expect.stringMatching(/\bnpm ci\b/));
    expect(buildRuns).toContainEqual(expect.stringMatching(/\bnpm run build\b/));
  });

  test('installs only production dependencies in the runtime stage, native build tools removed again', () => {
    const install = all(runtime, 'RUN').find((i) => /\bnpm ci\b/.test(i.args));
    expect(install?.args).toMatch(/\bnpm ci --omit=dev\b/);
    // better-sqlite3's install script (fetch or compile the native module) must run.
    expect(dockerfile).not.toContain('--ignore-scripts');
    for (const tool of ['python3', 'make', 'g++']) {
      expect(install?.args).toMatch(new RegExp(`apt-get install[^&]*\\s${tool.replace('+', '\\+')}(\\s|$)`));
      expect(install?.args).toMatch(new RegExp(`apt-get purge[^&]*\\s${tool.replace('+', '\\+')}(\\s|$)`));
    }
  });

  test('installs the packages the bundles load from the manifest the build writes, then copies the bundles and the migrations', () => {
    expect(packageJson.scripts.build, 'scripts/build.mjs with its default output folder, dist').toBe('node scripts/build.mjs');
    const builtDist = posix.join(workdirOf(build), 'dist');
    const runtimeDist = posix.join(workdirOf(runtime), 'dist');
    const landing = (copy: Copy | undefined) => copy && posix.resolve(workdirOf(runtime), copy.destination);
    // Each runtime instruction's position, to check the order of the layers.
    const position = (found: (instruction: Instruction) => boolean) => runtime.instructions.findIndex(found);
    const copying = (source: string) => (i: Instruction) => i.keyword === 'COPY' && copiesOf({ ...runtime, instructions: [i] })[0]!.sources.includes(source);
    const manifest = copiesOf(runtime).find((copy) => copy.from === build.name && copy.sources.includes(posix.join(builtDist, 'package.json')));
    expect(manifest?.sources).toContain(posix.join(builtDist, 'package-lock.json'));
    expect(landing(manifest)).toBe(runtimeDist);
    const bundles = copiesOf(runtime).find((copy) => copy.from === build.name && copy.sources.includes(builtDist));
    expect(landing(bundles)).toBe(runtimeDist);
    const install = position((i) => i.keyword === 'RUN' && /\bcd dist && npm ci --omit=dev\b/.test(i.args));
    // The manifest's layer first, so that a change to the code alone does not reinstall the packages.
    expect(position(copying(posix.join(builtDist, 'package.json')))).toBeLessThan(install);
    expect(install).toBeLessThan(position(copying(builtDist)));
    // open.ts looks for migrations/ above the bundle, so they must sit beside dist/.
    const migrations = copiesOf(runtime).find((copy) => copy.from === undefined && copy.sources.includes('migrations'));
    expect(landing(migrations)).toBe(posix.join(workdirOf(runtime), 'migrations'));
  });

  test('copies only files that exist and that .dockerignore lets into the build context', () => {
    const ignored = readFileSync('.dockerignore', 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    const isIgnored = (path: string) => {
      const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
      return ignored.some((pattern) => prefixes.some((prefix) => picomatch.isMatch(prefix, pattern, { dot: true })));
    };
    const sources = stages.flatMap((stage) => copiesOf(stage).filter((copy) => copy.from === undefined).flatMap((copy) => copy.sources));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(source), source).toBe(true);
      expect(isIgnored(source), `${source} is excluded by .dockerignore`).toBe(false);
    }
    // Secrets and a host-built node_modules (wrong native binary) must never reach the image.
    for (const path of ['.env', 'node_modules', 'data', 'dist']) expect(isIgnored(path), path).toBe(true);
  });

  test('npm start and the benchmark run the bundle with the Node options of the image', () => {
    const options = commandOf(runtime).slice(1, -1);
    expect(packageJson.scripts.start).toBe(['node', ...options, 'dist/main.js'].join(' '));
    expect(BUNDLED_NODE_ARGS).toEqual(options);
  });

  test('runs node dist/main.js with source-mapped stack traces as a non-root user', () => {
    // Exec form, so node is PID 1 and gets docker stop's SIGTERM (a shell would not pass it on).
    expect(commandOf(runtime)).toEqual(['node', '--enable-source-maps', '--max-semi-space-size=2', 'dist/main.js']);
    expect(existsSync('src/main.ts')).toBe(true);
    const user = last(runtime, 'USER')?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user!.split(':')[0]);
    // Nothing after USER may switch back or need root.
    const afterUser = runtime.instructions.slice(runtime.instructions.lastIndexOf(last(runtime, 'USER')!) + 1);
    expect(afterUser.map((i) => i.keyword)).not.toContain('RUN');
  });

  test('keeps the SQLite file in a volume owned by that user', () => {
    const env = envOf(runtime);
    const dataDir = posix.dirname(env.DATABASE_PATH ?? '');
    expect(env.DATABASE_PATH).toMatch(/^\/.+\.db$/);
    expect(all(runtime, 'VOLUME').map((i) => i.args).join(' ')).toContain(`"${dataDir}"`);
    const user = last(runtime, 'USER')!.args;
    expect(all(runtime, 'RUN').map((i) => i.args)).toContainEqual(expect.stringContaining(`chown ${user}:${user} ${dataDir}`));
  });

  test('exposes PORT 3000', () => {
    expect(envOf(runtime).PORT).toBe('3000');
    expect(last(runtime, 'EXPOSE')?.args).toBe('3000');
  });
});

describe('Dockerfile HEALTHCHECK', () => {
  const healthcheck = last(runtime, 'HEALTHCHECK')?.args ?? '';
  const command = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 'CMD '.length)) as string[];
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  /** Serves /healthz with `status` and runs the health check command against it; returns its exit code. */
  async function runAgainst(status: number | 'down'): Promise<number | null> {
    let asked: string | undefined;
    server = createServer((req, res) => {
      asked = req.url;
      res.writeHead(status === 'down' ? 500 : status, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    if (status === 'down') await new Promise((resolve) => server!.close(resolve));
    const [program, ...args] = command;
    // Asynchronous, so this process keeps serving the request the child makes.
    const result = await new Promise<number | null>((resolve) =>
      spawn(program!, args, { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' }).on('exit', resolve),
    );
    if (status !== 'down') expect(asked).toBe('/healthz');
    return result;
  }

  test('is node itself (slim images have no curl) with sensible timing', () => {
    expect(command[0]).toBe('node');
    expect(healthcheck).toMatch(/--timeout=\d+s/);
    expect(healthcheck).toMatch(/--start-period=\d+s/);
  });

  test('passes when /healthz answers 200 and fails on 503 or when nothing listens', async () => {
    expect(await runAgainst(200)).toBe(0);
    expect(await runAgainst(503)).toBe(1);
    expect(await runAgainst('down')).toBe(1);
  });
});
