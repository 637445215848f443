import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{testing,model,simulators,gateway,ingest,api,dashboard,cli}/**/*.test.{ts,tsx}'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers; two workers match this 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
