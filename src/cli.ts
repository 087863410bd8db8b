#!/usr/bin/env node
/**
 * The admin CLI, `npx cache-access <command>`: its composition root, the one place it reads
 * process.env. See src/cli/help.ts for the commands and exit codes.
 */
import { runCli } from './cli/run.js';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
