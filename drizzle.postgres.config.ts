import { defineConfig } from 'drizzle-kit';

// PostgreSQL (`npm run db:generate` runs both configs). Applied at start-up by src/adapters/db/postgres/open.ts.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/adapters/db/postgres/schema.ts',
  out: './migrations/postgres',
});
