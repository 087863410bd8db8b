import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/redis-global-setup.ts', 'test/support/postgres-global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration files each start servers on free ports; two workers suit the 2-core machines.
    maxWorkers: 2,
  },
});
