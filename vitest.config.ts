import { defineConfig } from 'vitest/config';

/**
 * Two projects. `unit`: no Java, no child process, no network; its files share one module graph
 * per worker (isolate: false), which halves their time, so they must leave no global state behind
 * (`npm run test:unit`). `integration`: DynamoDB Local (one for the whole run, test/global-setup.ts),
 * CLI child processes and CDK synthesis, each file in a fresh module graph.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Concurrent tests (crash scenarios, auctions) wait on child processes and bidding windows more than on the CPU.
    maxConcurrency: 3,
    // Two workers: while one waits on a child process, a bidding window or DynamoDB Local, the other runs.
    maxWorkers: 2,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/statemachines/**/*.test.ts'], isolate: false },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts', 'test/scenarios/**/*.test.ts', 'test/infra/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] },
      },
    ],
  },
});
