import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/faults/ is the fault suite: `npm run test:faults` (vitest.faults.config.ts).
    exclude: ['node_modules/**', 'dist/**', 'test/faults/**'],
    globalSetup: ['test/support/build-dist.ts'],
    // Integration tests share one Temporal dev server and one PostgreSQL per file; run files one at a time
    // on two cores so a slow GDAL fixture never starves a worker's heartbeat.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
