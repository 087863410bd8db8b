/**
 * The admin CLI's wiring: the same adapters as the bot (src/main.ts), each made on first use, so a
 * command opens only what it needs (`show` never touches Redis or AWS).
 */
import type { Logger } from 'pino';
import { SqliteGrantStore } from '../adapters/db/grant-store.js';
import { openDatabase, type OpenedDatabase } from '../adapters/db/open.js';
import type { UseCaseDeps } from '../app/deps.js';
import type { CliConfig } from '../config.js';
import { eventsSince, type AuditEntry, type AuditFilter } from '../adapters/db/event-log.js';
import type { WiredUseCases } from '../wiring.js';

export interface CliServices {
  /** POLICY_FILE. */
  policyFile: string;
  store(): SqliteGrantStore;
  eventsSince(since: Date, filter?: AuditFilter): AuditEntry[];
  /** Everything a use case may reach; Redis, AWS and the policy file are touched only when used. */
  useCaseDeps(): Promise<UseCaseDeps>;
  /** Closes whatever was opened. */
  close(): Promise<void>;
}

export function composeCli(config: CliConfig, logger: Logger): CliServices {
  let database: OpenedDatabase | undefined;
  let store: SqliteGrantStore | undefined;
  let useCases: WiredUseCases | undefined;

  const opened = () => (database ??= openDatabase(config.databasePath));
  const grantStore = () => (store ??= new SqliteGrantStore(opened().db));

  return {
    policyFile: config.policyFile,
    store: grantStore,
    eventsSince: (since, filter) => eventsSince(opened().db, since, filter),
    async useCaseDeps() {
      const { wireCliUseCases } = await import('./use-case-deps.js');
      useCases ??= wireCliUseCases(config, logger, grantStore());
      return useCases.deps;
    },
    async close() {
      await useCases?.close();
      database?.close();
    },
  };
}
