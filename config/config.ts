/**
 * The one place veda reads its environment. Everything else receives a typed `VedaConfig`.
 */
import os from 'node:os';
import path from 'node:path';
import { schemeOf } from '../domain/storage/remote-files.js';
import type { S3Settings } from '../domain/storage/s3-location.js';

export interface TemporalSettings {
  /** host:port of a Temporal frontend; undefined means "start a local dev server" (demo, tests, `veda dev`). */
  address?: string;
  namespace: string;
  taskQueue: string;
  /** Temporal Cloud API key (sent as a bearer token, implies TLS). */
  apiKey?: string;
  /** mTLS for a self-hosted cluster or Temporal Cloud with certificates. */
  tls?: { clientCertPath?: string; clientKeyPath?: string; serverCaCertPath?: string; serverName?: string };
  /** Explicit path of the `temporal` CLI binary used to run a local dev server. */
  cliPath?: string;
  /** Base address of the Temporal Web UI, used for links in dataset documents. */
  uiUrl?: string;
}

export interface WorkerSettings {
  /** Concurrent activity slots; activities are I/O + CPU bound, so a couple per core keeps every core busy. */
  maxConcurrentActivities: number;
  /** Chunks a workflow runs at once (bounded parallelism of ingest and cache stages). */
  chunkParallelism: number;
}

export const LOG_LEVELS = ['ERROR', 'WARN', 'INFO', 'DEBUG'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface VedaConfig {
  temporal: TemporalSettings;
  /** Level of the Temporal SDK's own log lines (worker state, activity failures) on stderr. */
  logLevel: LogLevel;
  /** postgres:// URL of the catalog; undefined means the embedded PGlite catalog under dataDir. */
  databaseUrl?: string;
  /** Root of veda's local state: embedded catalog, dev server state, scratch files; chips and batches by default. */
  dataDir: string;
  /** Where chips and batch files go (VEDA_STORE): a local directory or `s3://bucket/prefix`; undefined: dataDir. */
  store?: string;
  /** How to reach S3 for `s3://` stores, images and labels: the standard AWS variables. */
  s3: S3Settings;
  /** Who is acting (owner of new datasets; checked on feed, publish, unpublish, delete). */
  user: string;
  worker: WorkerSettings;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): VedaConfig {
  const tls = {
    clientCertPath: nonEmpty(env.TEMPORAL_TLS_CLIENT_CERT_PATH),
    clientKeyPath: nonEmpty(env.TEMPORAL_TLS_CLIENT_KEY_PATH),
    serverCaCertPath: nonEmpty(env.TEMPORAL_TLS_SERVER_CA_CERT_PATH),
    serverName: nonEmpty(env.TEMPORAL_TLS_SERVER_NAME),
  };
  const wantsTls = env.TEMPORAL_TLS === 'true' || Object.values(tls).some((v) => v !== undefined);
  const cores = Math.max(1, os.availableParallelism());
  const logLevel = (nonEmpty(env.VEDA_LOG_LEVEL)?.toUpperCase() ?? 'WARN') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`VEDA_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.VEDA_LOG_LEVEL}"`);
  const dataDir = path.resolve(nonEmpty(env.VEDA_DATA_DIR) ?? path.join(os.homedir(), '.veda'));
  return {
    logLevel,
    temporal: {
      address: nonEmpty(env.TEMPORAL_ADDRESS),
      namespace: nonEmpty(env.TEMPORAL_NAMESPACE) ?? 'default',
      taskQueue: nonEmpty(env.VEDA_TASK_QUEUE) ?? 'veda',
      apiKey: nonEmpty(env.TEMPORAL_API_KEY),
      tls: wantsTls ? tls : undefined,
      cliPath: nonEmpty(env.TEMPORAL_CLI_PATH),
      uiUrl: nonEmpty(env.TEMPORAL_UI_URL),
    },
    databaseUrl: nonEmpty(env.DATABASE_URL),
    dataDir,
    store: storeLocation(nonEmpty(env.VEDA_STORE)),
    s3: s3Settings(env),
    user: nonEmpty(env.VEDA_USER) ?? safeUsername(),
    worker: {
      maxConcurrentActivities: positiveInt('VEDA_WORKER_ACTIVITIES', env.VEDA_WORKER_ACTIVITIES, cores * 2),
      chunkParallelism: positiveInt('VEDA_CHUNK_PARALLELISM', env.VEDA_CHUNK_PARALLELISM, cores * 2),
    },
  };
}

/** An s3:// URI as given; anything else is a directory, resolved against the working directory. */
function storeLocation(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return schemeOf(value) !== undefined ? value : path.resolve(value);
}

function s3Settings(env: NodeJS.ProcessEnv): S3Settings {
  const endpoint = nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  const pathStyle = nonEmpty(env.VEDA_S3_PATH_STYLE)?.toLowerCase();
  if (pathStyle !== undefined && pathStyle !== 'true' && pathStyle !== 'false') {
    throw new Error(`VEDA_S3_PATH_STYLE must be true or false, got "${env.VEDA_S3_PATH_STYLE}"`);
  }
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  return {
    // S3-compatible servers rarely care about the region, but the SDK needs one.
    region: nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? (endpoint ? 'us-east-1' : undefined),
    endpoint,
    // Servers other than AWS mostly need path-style addressing (no bucket-name DNS).
    forcePathStyle: pathStyle === undefined ? endpoint !== undefined : pathStyle === 'true',
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined,
  };
}

function safeUsername(): string {
  try {
    return os.userInfo().username || 'anonymous';
  } catch {
    return 'anonymous';
  }
}
