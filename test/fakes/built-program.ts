/**
 * The program built as `npm run build` builds it (the esbuild bundles), into a temporary directory
 * rather than the shared dist/, for tests that run the real entry points (node dist/cli.js, node
 * dist/main.js) as child processes. The directory is laid out as the image is: migrations/ beside
 * dist/, and node_modules/ holding only the packages dist/package-lock.json installs, so a package the
 * bundles load at run time but the runtime install leaves out fails here too.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const REPO = resolve(import.meta.dirname, '../..');

export interface BuiltProgram {
  /** The bundles, e.g. join(dist, 'cli.js'). */
  dist: string;
  remove(): void;
}

/** `entries` (paths from the repository) are bundled beside main.js and cli.js, e.g. a test's child process. */
export async function buildProgram(entries: string[] = []): Promise<BuiltProgram> {
  const root = mkdtempSync(join(tmpdir(), 'cache-access-build-'));
  const dist = join(root, 'dist');
  const programEntries = entries.length > 0 ? ['src/main.ts', 'src/cli.ts', ...entries] : [];
  await promisify(execFile)(process.execPath, [join(REPO, 'scripts', 'build.mjs'), '--outdir', dist, ...programEntries], { cwd: REPO });
  symlinkSync(join(REPO, 'migrations'), join(root, 'migrations'));
  linkRuntimePackages(dist, root);
  return { dist, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** The repository's installed copies of the top-level packages in the runtime lock (those for this platform). */
function linkRuntimePackages(dist: string, root: string): void {
  const lock = JSON.parse(readFileSync(join(dist, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
  const topLevel = Object.keys(lock.packages).filter((path) => /^node_modules\/(@[^/]+\/)?[^/@]+$/.test(path));
  for (const path of topLevel.filter((path) => existsSync(join(REPO, path)))) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    symlinkSync(join(REPO, path), join(root, path));
  }
}

export interface ProgramRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * What a spawned program inherits besides the env a test gives it: PATH, and NODE_OPTIONS so a preload
 * the suite runs under (test/support/clock-ahead.mjs) reaches the child too.
 */
export function inheritedEnv(): Record<string, string> {
  const { PATH = '', NODE_OPTIONS } = process.env;
  return NODE_OPTIONS === undefined ? { PATH } : { PATH, NODE_OPTIONS };
}

/** AWS settings for a spawned program: test credentials in eu-west-1, and the host's own AWS files and instance metadata kept out. */
export function testAwsEnv(dir: string): Record<string, string> {
  return {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
  };
}

/** Runs `node <script> ...args` with exactly `env` (plus what inheritedEnv passes on), and collects its output and exit code. */
export async function runProgram(script: string, args: string[], env: Record<string, string>): Promise<ProgramRun> {
  return new Promise((done) => {
    execFile(process.execPath, [script, ...args], { env: { ...inheritedEnv(), ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      done({ exitCode: code, stdout, stderr });
    });
  });
}

export interface RunningProgram {
  child: ChildProcess;
  /** Every JSON log line it has written so far. */
  readonly lines: ReadonlyArray<Record<string, unknown>>;
  /** Resolves with the first JSON log line whose msg is `msg`; rejects if the program exits first. */
  logged(msg: string): Promise<Record<string, unknown>>;
  /** Resolves with the exit code, or rejects after `ms`. */
  exited(ms: number): Promise<number | null>;
}

/**
 * Starts `node <script> ...args` with exactly `env` (plus what inheritedEnv passes on), reading its JSON log lines from stdout.
 * With `stdin: 'pipe'` the test writes to child.stdin (a child that waits for a word from the test); it is empty otherwise.
 */
export function startProgram(script: string, args: string[], env: Record<string, string>, { stdin = 'ignore' }: { stdin?: 'ignore' | 'pipe' } = {}): RunningProgram {
  const child = spawn(process.execPath, [script, ...args], { env: { ...inheritedEnv(), ...env }, stdio: [stdin, 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ msg: string; resolve: (line: Record<string, unknown>) => void }> = [];
  let buffered = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const text of complete) {
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.msg === line.msg)) waiter.resolve(line);
    }
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    logged: (msg) =>
      Promise.race([
        new Promise<Record<string, unknown>>((resolve) => {
          const seen = lines.find((line) => line.msg === msg);
          if (seen) resolve(seen);
          else waiters.push({ msg, resolve });
        }),
        exit.then(() => {
          throw new Error(`the program exited before logging "${msg}"; stderr: ${stderr}`);
        }),
      ]),
    exited: (ms) =>
      Promise.race([
        exit,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within ${ms} ms`)), ms).unref()),
      ]),
  };
}

/** SIGKILLs the programs still running (a test's clean-up: their databases are dropped or removed next). */
export function killAll(programs: RunningProgram[]): void {
  for (const running of programs.splice(0)) {
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
  }
}
