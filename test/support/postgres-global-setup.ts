/**
 * Starts one throwaway PostgreSQL cluster for the whole test run (start-up costs seconds, so once per run),
 * unless TEST_DATABASE_URL is set. Tests read the URL from inject('postgresUrl') and take a database of their
 * own with freshPostgresDatabase().
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startPostgresServer } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide('postgresUrl', external);
    return async () => {};
  }
  const server = await startPostgresServer();
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
