/**
 * The admin CLI's wiring: the same adapters as the bot (src/main.ts), each made on first use, so a
 * command opens only what it needs (`show` never touches Redis or AWS).
 */
import type { Logger } from 'pino';
import type { CopyOutcome } from '../adapters/db/copy/copy-records.js';
import { openRecords, type Records } from '../adapters/db/records.js';
import type { UseCaseDeps } from '../app/deps.js';
import type { AuditEntry, AuditFilter, GrantStore } from '../app/ports.js';
import type { CliConfig } from '../config.js';
import type { WiredUseCases } from '../wiring.js';

export interface CliServices {
  /** POLICY_FILE. */
  policyFile: string;
  /** DATABASE_PATH: the SQLite file copy-records reads. */
  databasePath: string;
  /** PGPASSWORD: the password of a copy-records target URL that has none. */
  copyTargetPassword?: string;
  /** Copies every record from the SQLite file to the empty PostgreSQL database at `url`. */
  copyRecordsTo(url: string): Promise<CopyOutcome>;
  store(): Promise<GrantStore>;
  eventsSince(since: Date, filter?: AuditFilter): Promise<AuditEntry[]>;
  /** Everything a use case may reach; Redis, AWS and the policy file are touched only when used. */
  useCaseDeps(): Promise<UseCaseDeps>;
  /** Closes whatever was opened. */
  close(): Promise<void>;
}

export function composeCli(config: CliConfig, logger: Logger): CliServices {
  let records: Promise<Records> | undefined;
  let useCases: WiredUseCases | undefined;

  const opened = () => (records ??= openRecords(config));

  return {
    policyFile: config.policyFile,
    databasePath: config.databasePath,
    copyTargetPassword: config.copyTargetPassword,
    async copyRecordsTo(url) {
      const { copyRecords } = await import('../adapters/db/copy/copy-records.js');
      return copyRecords(config.databasePath, url);
    },
    store: async () => (await opened()).store,
    eventsSince: async (since, filter) => (await opened()).reader.eventsSince(since, filter),
    async useCaseDeps() {
      const { wireCliUseCases } = await import('./use-case-deps.js');
      useCases ??= wireCliUseCases(config, logger, (await opened()).store);
      return useCases.deps;
    },
    async close() {
      await useCases?.close();
      await records?.then((opened) => opened.close(), () => {});
    },
  };
}
