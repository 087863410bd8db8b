import { defineConfig } from 'drizzle-kit';

// SQLite. Only `drizzle-kit generate` is used: migrations are applied at start-up by src/adapters/db/open.ts.
// PostgreSQL has its own config, drizzle.postgres.config.ts.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/adapters/db/schema.ts',
  out: './migrations/sqlite',
});
