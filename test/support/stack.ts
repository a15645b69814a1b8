/**
 * A real veda stack for integration tests: a Temporal dev server started from the `temporal` binary (or
 * TEMPORAL_ADDRESS), a fresh PostgreSQL database (or the embedded catalog, served over the wire protocol to the
 * worker, the client and child processes exactly as `veda dev` serves it), a temp data dir and an in-process worker
 * on a task queue of its own.
 *
 * The catalog defaults to VEDA_TEST_CATALOG (`postgres` or `embedded`): vitest.config.ts runs every workflow test
 * file once on each.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type VedaConfig } from '../../config/config.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../stack/local-stack.js';
import { createTestDatabase } from './database.js';

export const OLINDA = {
  image: path.resolve('examples/data/L7_ETMs.tif'),
  labels: path.resolve('examples/data/landcover.geojson'),
  labels4326: path.resolve('examples/data/landcover-4326.geojson'),
  classes: ['water', 'vegetation', 'urban'],
};

export type TestCatalog = 'postgres' | 'embedded';

/** The catalog this run of the tests uses by default (vitest.config.ts sets it per project). */
export const TEST_CATALOG: TestCatalog = process.env.VEDA_TEST_CATALOG === 'embedded' ? 'embedded' : 'postgres';

export interface TestStack extends LocalStack {
  config: VedaConfig;
  dataDir: string;
  /** Environment for a child process (CLI, worker) that should join this stack. */
  childEnv: NodeJS.ProcessEnv;
  teardown(): Promise<void>;
}

export async function startTestStack(
  options: { catalog?: TestCatalog; user?: string; stack?: LocalStackOptions; env?: NodeJS.ProcessEnv } = {},
): Promise<TestStack> {
  const embedded = (options.catalog ?? TEST_CATALOG) === 'embedded';
  const db = embedded ? null : await createTestDatabase();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'veda-test-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    VEDA_DATA_DIR: dataDir,
    DATABASE_URL: db?.url ?? '',
    VEDA_USER: options.user ?? 'alice',
    VEDA_TASK_QUEUE: `veda-test-${randomBytes(4).toString('hex')}`,
    VEDA_CHUNK_PARALLELISM: '4',
    ...options.env,
  };
  // The run's shared dev server and workflow bundle (test/support/shared-temporal.ts), unless the test names a server.
  const shared = inject('sharedTemporal');
  if (shared && !env.TEMPORAL_ADDRESS) {
    Object.assign(env, { TEMPORAL_ADDRESS: shared.address, TEMPORAL_NAMESPACE: shared.namespace, TEMPORAL_UI_URL: shared.uiUrl });
  }
  const config = loadConfig(env);
  let stack: LocalStack;
  try {
    stack = await startLocalStack(config, { serveCatalog: embedded, workflowBundlePath: shared?.workflowBundlePath, ...options.stack });
  } catch (err) {
    await db?.drop();
    throw err;
  }
  return {
    ...stack,
    config,
    dataDir,
    childEnv: { ...env, TEMPORAL_ADDRESS: stack.address, TEMPORAL_NAMESPACE: stack.namespace },
    async teardown() {
      await stack.stop();
      await db?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
