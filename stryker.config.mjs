// Mutation testing (`npm run mutate`); not part of CI. Results and what they bound: MUTATION.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // The vitest config brings the globalSetup that starts a throwaway redis-server for each Stryker worker.
  vitest: { configFile: 'vitest.config.ts' },
  coverageAnalysis: 'perTest',
  mutate: ['src/domain/**/*.ts', 'src/app/**/*.ts'],
  // A rerun tests only the mutants whose code or covering tests changed since the last run.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  // The machines have 2 cores shared by several people; each worker also runs its own redis-server.
  concurrency: 2,
  // The dry run goes through every test that imports the mutated files, integration tests included.
  dryRunTimeoutMinutes: 30,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
