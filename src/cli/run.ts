/** The admin CLI from argv to exit code: parse, wire, run, report. */
import { pino } from 'pino';
import { createLogger } from '../adapters/logger.js';
import { loadCliConfig } from '../config.js';
import { InvalidInputError } from '../domain/errors.js';
import { parseCliArgs } from './arguments.js';
import { runCommand } from './commands.js';
import { composeCli } from './composition.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { commandHelp, PROGRAM_HELP } from './help.js';

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    const command = parseCliArgs(argv, io.env.USER);
    if (command.kind === 'help') {
      io.stdout(`${command.command ? commandHelp(command.command) : PROGRAM_HELP}\n`);
      return EXIT.ok;
    }
    const config = loadCliConfig(io.env);
    // Logs go to stderr so that stdout stays a clean table, CSV or JSON; only warnings unless LOG_LEVEL asks for more.
    const logger = createLogger(io.env.LOG_LEVEL ? config.logLevel : 'warn', pino.destination({ dest: 2, sync: true }));
    const services = composeCli(config, logger);
    try {
      const { output, exitCode } = await runCommand(command, services);
      io.stdout(output);
      return exitCode;
    } finally {
      await services.close();
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`cache-access: ${message}\n`);
    if (error instanceof InvalidInputError && argv.length === 0) io.stderr(`\n${PROGRAM_HELP}\n`);
    return exitCodeOf(error);
  }
}
