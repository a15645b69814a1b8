/**
 * Everything veda needs on one machine, in one process: a Temporal server (a local dev server started here, or the
 * configured TEMPORAL_ADDRESS), the catalog and chip store, and a running worker. The demo, the tests and
 * `veda dev` all start it; only their options differ.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { VedaConfig } from '../config/config.js';
import { claimCatalogDir, serveEmbeddedCatalog, type EmbeddedCatalogServer } from '../domain/catalog/index.js';
import { Veda } from '../client/veda.js';
import { connectClient, connectWorkerConnection } from '../temporal/connection.js';
import { ensureSearchAttributes } from '../temporal/register-search-attributes.js';
import { startLocalTemporal, type LocalTemporal } from '../temporal/local-server.js';
import { installQuietRuntime } from '../temporal/runtime.js';
import { createVedaWorker } from '../worker/worker.js';
import { openServices, type Services } from '../runtime/services.js';

export interface LocalStackOptions {
  /** Serve the Temporal Web UI from a local dev server. */
  ui?: boolean;
  port?: number;
  uiPort?: number;
  /** Keep the local dev server's history in <dataDir>/temporal.sqlite across restarts. */
  persist?: boolean;
  /**
   * Serve the embedded catalog over the PostgreSQL protocol so other processes can use it (`veda dev`). The data
   * directory is claimed first, so a command started while the stack starts waits for it instead of opening the
   * catalog itself, and learns the URL only once the stack is up (after `onReady`).
   */
  serveCatalog?: boolean;
  /** Runs once everything is up, before the served catalog is announced (`veda dev` writes dev.json here). */
  onReady?: (ready: { address: string; namespace: string; uiUrl?: string }) => Promise<void>;
  /** Start a worker in this process (default true). */
  worker?: boolean;
  /** The worker loads this prebuilt workflow bundle instead of bundling the workflows itself. */
  workflowBundlePath?: string;
}

export interface LocalStack {
  address: string;
  namespace: string;
  uiUrl?: string;
  client: Client;
  /** postgres:// URL of the catalog: DATABASE_URL, or the embedded catalog when this stack serves it. */
  catalogUrl?: string;
  services: Services;
  worker: Worker | null;
  /** A client API acting as `user` (default: the configured user). */
  veda(user?: string): Veda;
  /** Stops everything gracefully: the worker hands back its activities, then the catalog and the Temporal server. */
  stop(): Promise<void>;
  /** Kills the local Temporal server at once (for a process about to exit without a graceful stop). */
  kill(): void;
}

export async function startLocalStack(config: VedaConfig, options: LocalStackOptions = {}): Promise<LocalStack> {
  installQuietRuntime(config.logLevel);
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error(err));
  };
  try {
    if (options.persist) await mkdir(config.dataDir, { recursive: true });
    // The data directory first: a command started from now on waits for this stack instead of opening the catalog.
    const catalogClaim = options.serveCatalog && !config.databaseUrl ? await claimCatalogDir(config.dataDir, { serves: true }) : null;
    if (catalogClaim) cleanups.push(() => catalogClaim.release());
    let server: LocalTemporal | null = null;
    let client: Client;
    let connection: NativeConnection;
    let { address, namespace, uiUrl } = config.temporal;
    if (address) {
      client = await connectClient({ ...config.temporal, address });
      connection = await connectWorkerConnection({ ...config.temporal, address });
      cleanups.push(() => client.connection.close(), () => connection.close());
      // A server veda did not start may lack the search attributes every workflow start sets.
      if (options.worker !== false) await ensureSearchAttributes(client.connection.operatorService, namespace);
    } else {
      server = await startLocalTemporal({
        cliPath: config.temporal.cliPath,
        namespace,
        ui: options.ui,
        port: options.port,
        uiPort: options.uiPort,
        dbFilename: options.persist ? path.join(config.dataDir, 'temporal.sqlite') : undefined,
      });
      cleanups.push(server.shutdown);
      ({ client, nativeConnection: connection, address } = server);
      uiUrl ??= server.uiUrl;
    }

    // Served once the Temporal server has its ports: the catalog listens on a port the OS picks.
    let catalogServer: EmbeddedCatalogServer | null = null;
    if (catalogClaim) {
      catalogServer = await serveEmbeddedCatalog({ dataDir: config.dataDir, claim: catalogClaim, announceLater: true });
      cleanups.push(catalogServer.close);
    }
    const catalogUrl = config.databaseUrl ?? catalogServer?.url;
    const services = await openServices({ ...config, databaseUrl: catalogUrl });
    cleanups.push(services.close);

    let worker: Worker | null = null;
    if (options.worker !== false) {
      worker = await createVedaWorker({
        connection,
        namespace,
        taskQueue: config.temporal.taskQueue,
        services,
        settings: config.worker,
        workflowBundlePath: options.workflowBundlePath,
      });
      const running = worker.run();
      const w = worker;
      cleanups.push(async () => {
        if (w.getState() === 'RUNNING') w.shutdown();
        await running;
      });
    }

    await options.onReady?.({ address: address!, namespace, uiUrl });
    await catalogServer?.announce();

    const base = Veda.over({
      client,
      namespace,
      taskQueue: config.temporal.taskQueue,
      uiUrl,
      services,
      user: config.user,
      parallelism: config.worker.chunkParallelism,
    });
    return {
      address: address!,
      namespace,
      uiUrl,
      client,
      catalogUrl,
      services,
      worker,
      veda: (user) => (user ? base.asUser(user) : base),
      stop,
      kill: () => server?.kill(),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
