/**
 * `VedaPlugin`: veda inside a user's own Temporal application. On a Worker it adds veda's activities (wired to the
 * catalog and chip store) and veda's workflows beside the user's own; on a Connection / NativeConnection it sets the
 * TLS and API key veda is configured with; `plugin.veda(client)` is the client API over the user's own Client.
 *
 *   const veda = await VedaPlugin.create();                    // catalog, store, limits: options, else environment
 *   const worker = await Worker.create({ connection, taskQueue: veda.taskQueue, workflowsPath, plugins: [veda] });
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { SimplePlugin } from '@temporalio/plugin';
import type { BundleOptions, WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDependencies, type ActivityOptions } from '../activities/index.js';
import { Veda } from '../client/veda.js';
import { loadConfig, type TemporalSettings, type VedaConfig, type WorkerSettings } from '../config/config.js';
import { openServices, type Services } from '../runtime/services.js';
import { connectionOptions } from '../temporal/connection.js';
import { vedaWorkflowsPath } from '../worker/workflows-path.js';

/** What `VedaPlugin.create` opens; each field left out comes from the environment (see README, Configuration). */
export interface VedaPluginOptions {
  /** The whole configuration; default: `loadConfig()` (the environment). The fields below override it. */
  config?: VedaConfig;
  /** postgres:// URL of the catalog (DATABASE_URL); without one, the embedded catalog under dataDir. */
  databaseUrl?: string;
  /** Root of the embedded catalog, chip store and batch files (VEDA_DATA_DIR). */
  dataDir?: string;
  /** Task queue `plugin.veda(client)` starts veda's workflows on: the one your worker polls (VEDA_TASK_QUEUE). */
  taskQueue?: string;
  /** Activity slots (VEDA_WORKER_ACTIVITIES), chunks in flight per workflow (VEDA_CHUNK_PARALLELISM), compute threads (VEDA_COMPUTE_THREADS), block cache (VEDA_BLOCK_CACHE_MB). */
  worker?: Partial<WorkerSettings>;
  /** Who `plugin.veda(client)` acts as (VEDA_USER). */
  user?: string;
}

export interface VedaPluginSetup {
  /** Catalog, chip store and batch directory the activities use (opened and closed by the caller). */
  services: ActivityDependencies & Partial<Pick<Services, 'close'>>;
  /** TLS / API key for connections the plugin configures (none: connections are left as they are). */
  temporal?: Pick<TemporalSettings, 'apiKey' | 'tls'>;
  taskQueue?: string;
  worker?: WorkerSettings;
  user?: string;
  uiUrl?: string;
}

function pluginConfig(options: VedaPluginOptions): VedaConfig {
  const base = options.config ?? loadConfig();
  return {
    ...base,
    databaseUrl: options.databaseUrl ?? base.databaseUrl,
    dataDir: options.dataDir ? path.resolve(options.dataDir) : base.dataDir,
    user: options.user ?? base.user,
    temporal: { ...base.temporal, taskQueue: options.taskQueue ?? base.temporal.taskQueue },
    worker: { ...base.worker, ...options.worker },
  };
}

/** Compute threads and block cache as the activities take them (left out: their defaults). */
function activityOptions(worker: WorkerSettings | undefined): ActivityOptions {
  const { computeThreads, blockCacheMb } = worker ?? {};
  return {
    ...(computeThreads !== undefined ? { computeThreads } : {}),
    ...(blockCacheMb !== undefined ? { blockCacheBytes: blockCacheMb * 2 ** 20 } : {}),
  };
}

/** TLS and API key as the Connection options take them, from veda's settings (`undefined`: leave them alone). */
function connectionSecurity(temporal: VedaPluginSetup['temporal']) {
  if (!temporal?.apiKey && !temporal?.tls) return {};
  const { tls, apiKey } = connectionOptions({ ...temporal, address: '', namespace: '', taskQueue: '' });
  return { tls, apiKey };
}

const require = createRequire(import.meta.url);

/**
 * A workflow entry module exporting the user's workflows and veda's: a worker bundles one entry, so veda's are
 * added by re-export. Written once per pair of paths (the name is their hash), next to nothing of the user's.
 */
function combinedWorkflowsPath(userPath: string): string {
  const vedaPath = vedaWorkflowsPath();
  const dir = path.join(os.tmpdir(), 'veda-workflows');
  // Veda's own entry, or one combined already (the plugin given to both the connection and the worker runs twice).
  if (path.resolve(userPath) === vedaPath || path.dirname(path.resolve(userPath)) === dir) return userPath;
  const source = `export * from ${JSON.stringify(path.resolve(userPath))};\nexport * from ${JSON.stringify(vedaPath)};\n`;
  const file = path.join(dir, `${createHash('sha256').update(source).digest('hex').slice(0, 16)}.js`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, source);
  return file;
}

export class VedaPlugin extends SimplePlugin {
  readonly taskQueue: string;

  /** Opens the catalog and chip store from options (environment as default); `close()` closes them. */
  static async create(options: VedaPluginOptions = {}): Promise<VedaPlugin> {
    const config = pluginConfig(options);
    const services = await openServices(config);
    return new VedaPlugin({
      services,
      temporal: config.temporal,
      taskQueue: config.temporal.taskQueue,
      worker: config.worker,
      user: config.user,
      uiUrl: config.temporal.uiUrl,
    });
  }

  /** Over services the caller opened (veda's own worker does this); the caller closes them. */
  constructor(private readonly setup: VedaPluginSetup) {
    super({
      name: 'veda',
      activities: createActivities(setup.services, activityOptions(setup.worker)),
      ...connectionSecurity(setup.temporal),
    });
    this.taskQueue = setup.taskQueue ?? 'veda';
  }

  /** Adds veda's activities and workflows (beside a `workflowsPath` of the user's) and veda's worker defaults. */
  override configureWorker(options: WorkerOptions): WorkerOptions {
    const limits = this.setup.worker;
    const heartbeatMs = limits?.heartbeatMs ?? 1000;
    return super.configureWorker({
      ...options,
      // With a prebuilt bundle, the user bundled veda's workflows in (bundleWorkflowCode({ plugins: [veda] })).
      workflowsPath: options.workflowBundle ? options.workflowsPath : (options.workflowsPath ?? vedaWorkflowsPath()),
      maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? limits?.maxConcurrentActivities,
      // Chunk activities heartbeat every few hundred ms; throttle the calls to the server. At most a second apart
      // by default, since the batch writer's heartbeats are what moves its progress bar.
      maxHeartbeatThrottleInterval: options.maxHeartbeatThrottleInterval ?? heartbeatMs,
      defaultHeartbeatThrottleInterval: options.defaultHeartbeatThrottleInterval ?? 2 * heartbeatMs,
      // On shutdown (SIGINT/SIGTERM), activities get a moment to finish, then are cancelled: they stop at their next
      // window and their attempt fails, so Temporal retries them (on another worker, or this one restarted), resuming
      // from their last heartbeat. A worker never takes longer than shutdownForceTime to stop.
      shutdownGraceTime: options.shutdownGraceTime ?? '2 seconds',
      shutdownForceTime: options.shutdownForceTime ?? '30 seconds',
    });
  }

  /** Bundles veda's workflows with the user's: on Worker.create({ workflowsPath }) and bundleWorkflowCode alike. */
  override configureBundler(options: BundleOptions): BundleOptions {
    const workflowsPath = combinedWorkflowsPath(options.workflowsPath);
    if (workflowsPath === options.workflowsPath) return super.configureBundler(options);
    // The bundler resolves its own entry code from the entry's directory (a temporary one): let it find the
    // workflow SDK where veda's workflows find it.
    const sdkModules = path.resolve(path.dirname(require.resolve('@temporalio/workflow')), '../../..');
    const userHook = options.webpackConfigHook;
    return super.configureBundler({
      ...options,
      workflowsPath,
      webpackConfigHook: (config) => {
        const hooked = userHook ? userHook(config) : config;
        hooked.resolve = { ...hooked.resolve, modules: [...(hooked.resolve?.modules ?? ['node_modules']), sdkModules] };
        return hooked;
      },
    });
  }

  /** veda's client API over the user's own Client, starting workflows on this plugin's task queue. */
  veda(client: Client, options: { user?: string } = {}): Veda {
    const { services } = this.setup;
    return Veda.over({
      client,
      namespace: client.options.namespace,
      taskQueue: this.taskQueue,
      uiUrl: this.setup.uiUrl,
      services: { ...services, close: services.close ?? (async () => {}) },
      user: options.user ?? this.setup.user ?? 'anonymous',
      parallelism: this.setup.worker?.chunkParallelism,
    });
  }

  /** Closes what `create` opened. */
  async close(): Promise<void> {
    await this.setup.services.close?.();
  }
}
