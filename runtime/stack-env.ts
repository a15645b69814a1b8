/**
 * The environment of a veda process (`veda worker`, a CLI command) that joins a running stack: the variables
 * loadConfig (config/config.ts) reads back. Benchmarks and tests that start workers as child processes use it.
 */
export interface StackEnvOptions {
  temporal: { address: string; namespace: string };
  databaseUrl: string;
  dataDir: string;
  taskQueue: string;
  user: string;
  logLevel?: string;
}

export function stackEnv(options: StackEnvOptions, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    TEMPORAL_ADDRESS: options.temporal.address,
    TEMPORAL_NAMESPACE: options.temporal.namespace,
    DATABASE_URL: options.databaseUrl,
    VEDA_DATA_DIR: options.dataDir,
    VEDA_TASK_QUEUE: options.taskQueue,
    VEDA_USER: options.user,
    VEDA_LOG_LEVEL: options.logLevel ?? base.VEDA_LOG_LEVEL ?? 'ERROR',
  };
}
