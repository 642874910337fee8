import { defineConfig } from 'vitest/config';

// One config for the whole repo: packages resolve each other through the `source` export
// condition, so tests run against TypeScript sources without a build of their dependencies.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['**/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // A folder where the run's processes share prepared reducers (TANDEM_PREPARED_CACHE).
    globalSetup: ['scripts/vitest-global-setup.ts'],
    // Coordinators started by tests log warnings and errors only (tests that check logs inject their own).
    env: { TANDEM_LOG_LEVEL: 'warn' },
  },
});
