import { defineConfig } from 'drizzle-kit';

// Only `drizzle-kit generate` is used: migrations are applied at startup by src/adapters/db/open.ts.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/adapters/db/schema.ts',
  out: './migrations',
});
