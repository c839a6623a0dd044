import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration files start their own servers on free ports, so files can run side by side.
    fileParallelism: true,
    maxWorkers: 2,
    // The default output, then every skipped test by name (their suites say why).
    reporters: ['default', './tests/support/skipped-reporter.ts'],
  },
});
