/**
 * The program compiled as `npm run build` compiles it, into a temporary directory rather than the
 * shared dist/, for tests that run the real entry points (node dist/cli.js, node dist/main.js) as
 * child processes. The directory mirrors the repository's layout where the program relies on it:
 * migrations/ three levels above dist/adapters/db/open.js, node_modules/ and an ESM package.json.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const REPO = resolve(import.meta.dirname, '../..');

export interface BuiltProgram {
  /** The compiled src/, e.g. join(dist, 'cli.js'). */
  dist: string;
  remove(): void;
}

export async function buildProgram(): Promise<BuiltProgram> {
  const root = mkdtempSync(join(tmpdir(), 'cache-access-build-'));
  const dist = join(root, 'dist');
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.build.json'), '--outDir', dist], { cwd: REPO });
  symlinkSync(join(REPO, 'migrations'), join(root, 'migrations'));
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
  return { dist, remove: () => rmSync(root, { recursive: true, force: true }) };
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

/** Runs `node <script> ...args` with exactly `env` (plus what inheritedEnv passes on), and collects its output and exit code. */
export async function runProgram(script: string, args: string[], env: Record<string, string>): Promise<ProgramRun> {
  return new Promise((done) => {
    execFile(process.execPath, [script, ...args], { env: { ...inheritedEnv(), ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      done({ exitCode: code, stdout, stderr });
    });
  });
}
