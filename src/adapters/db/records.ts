/**
 * Opens the records on the configured engine: PostgreSQL when a database URL is set, else the SQLite file.
 * The PostgreSQL driver is loaded only then.
 */
import type { AuditOutbox, GrantStore, RecordsReader } from '../../app/ports.js';
import { SqliteAuditOutbox } from './audit-outbox.js';
import { SqliteGrantStore } from './grant-store.js';
import { openDatabase } from './open.js';
import { sqliteRecordsReader } from './records-reader.js';

export interface Records {
  store: GrantStore;
  reader: RecordsReader;
  auditOutbox: AuditOutbox;
  engine: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

export async function openRecords(settings: { databaseUrl?: string; databasePath: string }): Promise<Records> {
  if (settings.databaseUrl) {
    const [{ openPostgres }, { PostgresGrantStore }, { postgresRecordsReader }, { PostgresAuditOutbox }] = await Promise.all([
      import('./postgres/open.js'),
      import('./postgres/grant-store.js'),
      import('./postgres/records-reader.js'),
      import('./postgres/audit-outbox.js'),
    ]);
    const opened = await openPostgres(settings.databaseUrl);
    return {
      store: new PostgresGrantStore(opened.db),
      reader: postgresRecordsReader(opened),
      auditOutbox: new PostgresAuditOutbox(opened.db),
      engine: 'postgres',
      close: opened.close,
    };
  }
  const opened = openDatabase(settings.databasePath);
  return {
    store: new SqliteGrantStore(opened.db),
    reader: sqliteRecordsReader(opened),
    auditOutbox: new SqliteAuditOutbox(opened.db),
    engine: 'sqlite',
    close: async () => opened.close(),
  };
}
