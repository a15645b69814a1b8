import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`): real processes killed and restarted (workers, the Temporal dev server, a
 * private PostgreSQL cluster). Not part of `npm test`; `.ci/run` runs it after.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 180_000,
  },
});
