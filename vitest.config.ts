import { defineConfig } from 'vitest/config';

/**
 * Test files that run workflows on a stack (test/support/stack.ts): each runs once per catalog. A new such file
 * belongs here (test/embedded-catalog.test.ts picks its catalogs itself).
 */
const WORKFLOW_TESTS = [
  'test/access.test.ts',
  'test/batch-workflow.test.ts',
  'test/cancellation.test.ts',
  'test/cli.test.ts',
  'test/collection-api.test.ts',
  'test/hostile-input.test.ts',
  'test/http-api.test.ts',
  'test/ingest-options.test.ts',
  'test/inputs.test.ts',
  'test/ingest-workflow.test.ts',
  'test/package.test.ts',
  'test/plugin.test.ts',
  'test/preview.test.ts',
  'test/pyveda-home.test.ts',
  'test/replay.test.ts',
  'test/schedules.test.ts',
  'test/splits-ingest.test.ts',
  'test/waiting-clients.test.ts',
  'test/webui.test.ts',
];

export default defineConfig({
  test: {
    // test/faults/ is the fault suite: `npm run test:faults` (vitest.faults.config.ts).
    exclude: ['node_modules/**', 'dist/**', 'test/faults/**'],
    // dist/ for the tests that run the `veda` command; one Temporal dev server and workflow bundle for all files.
    globalSetup: ['test/support/build-dist.ts', 'test/support/shared-temporal.ts'],
    // Test files wait on Temporal and PostgreSQL round trips far more than they compute: a few at once keep two
    // cores busy. Each file has its own task queue, database and data directory on the shared dev server.
    fileParallelism: true,
    maxWorkers: Number(process.env.VEDA_TEST_FILES_AT_ONCE ?? 3),
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Every workflow test runs against PostgreSQL and again against the embedded catalog (PGlite served over the
    // wire protocol, as `veda dev` serves it); the other tests once. The first run does the chunks' pixel work on
    // the worker's main thread (VEDA_COMPUTE_THREADS=0), the second on 2 compute threads (compute/pool.ts).
    projects: [
      { extends: true, test: { name: 'postgres', include: ['test/**/*.test.ts'], env: { VEDA_TEST_CATALOG: 'postgres', VEDA_COMPUTE_THREADS: '0' } } },
      { extends: true, test: { name: 'embedded', include: WORKFLOW_TESTS, env: { VEDA_TEST_CATALOG: 'embedded', VEDA_COMPUTE_THREADS: '2' } } },
    ],
  },
});
