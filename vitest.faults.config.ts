import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`): real processes killed and restarted (workers, the Temporal dev server, a
 * private PostgreSQL cluster). Not part of `npm test`; `.ci/run` runs it after.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    // Workers run as `veda worker` children (bin/veda.js runs dist/): build it first when a source is newer.
    globalSetup: ['test/support/build-dist.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 180_000,
  },
});
