/**
 * The one place veda reads its environment, checked by one schema. Everything else receives a typed `VedaConfig`.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
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
  /**
   * Longest gap between two progress heartbeats a worker sends Temporal (VEDA_HEARTBEAT_MS, default 1000): finer
   * progress against more server calls (on Temporal Cloud each heartbeat is a billed action).
   */
  heartbeatMs?: number;
  /**
   * Threads that decode imagery and encode labels (VEDA_COMPUTE_THREADS, default 2 on 2 cores, cores - 1 from 4, 0
   * on 1 core; 0 runs that work on the worker's main thread).
   */
  computeThreads?: number;
  /** Decoded imagery blocks a worker keeps for later windows, in MiB (VEDA_BLOCK_CACHE_MB; default 5% of memory). */
  blockCacheMb?: number;
}

/** A veda HTTP service to talk to instead of the catalog and Temporal (`Veda.connect`, the CLI). */
export interface ApiSettings {
  /** Base URL of `veda serve`, e.g. `https://veda.example.org`. */
  url: string;
  /** API token (`veda token create --user NAME` on the server side); the server decides who is acting from it. */
  token?: string;
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
  /**
   * Chips and batch files written (chips also read) around the page cache, with O_DIRECT, where the filesystem
   * allows (VEDA_DIRECT_IO, default true): data written once and read rarely then takes no page-cache memory.
   */
  directIo?: boolean;
  /** Who is acting (owner of new datasets; checked on feed, publish, unpublish, delete). */
  user: string;
  worker: WorkerSettings;
  /** VEDA_API_URL (+ VEDA_TOKEN): clients go through that service; undefined: straight to the catalog and Temporal. */
  api?: ApiSettings;
}

/** A variable as given, trimmed; unset and blank are the same (undefined). */
const setting = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

function positiveInt(name: string) {
  return integerFrom(name, 1, 'a positive integer');
}

function wholeNumber(name: string) {
  return integerFrom(name, 0, 'a whole number (0 or more)');
}

function integerFrom(name: string, min: number, what: string) {
  return setting
    .refine((value) => value === undefined || (Number.isInteger(Number(value)) && Number(value) >= min), {
      error: (issue) => `${name} must be ${what}, got "${String(issue.input)}"`,
    })
    .transform((value) => (value === undefined ? undefined : Number(value)));
}

function oneOf<const T extends readonly string[]>(name: string, values: T, normalize: (value: string) => string) {
  return setting
    .refine((value) => value === undefined || values.includes(normalize(value)), {
      error: (issue) => `${name} must be ${values.length === 2 ? values.join(' or ') : `one of ${values.join(', ')}`}, got "${String(issue.input)}"`,
    })
    .transform((value) => (value === undefined ? undefined : (normalize(value) as T[number])));
}

/** The environment veda reads: every variable it knows, checked; everything else is left out. */
const envSchema = z.object({
  TEMPORAL_ADDRESS: setting,
  TEMPORAL_NAMESPACE: setting,
  VEDA_TASK_QUEUE: setting,
  TEMPORAL_API_KEY: setting,
  TEMPORAL_TLS: setting,
  TEMPORAL_TLS_CLIENT_CERT_PATH: setting,
  TEMPORAL_TLS_CLIENT_KEY_PATH: setting,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: setting,
  TEMPORAL_TLS_SERVER_NAME: setting,
  TEMPORAL_CLI_PATH: setting,
  TEMPORAL_UI_URL: setting,
  VEDA_LOG_LEVEL: oneOf('VEDA_LOG_LEVEL', LOG_LEVELS, (value) => value.toUpperCase()),
  DATABASE_URL: setting,
  VEDA_DATA_DIR: setting,
  VEDA_STORE: setting,
  VEDA_USER: setting,
  VEDA_WORKER_ACTIVITIES: positiveInt('VEDA_WORKER_ACTIVITIES'),
  VEDA_CHUNK_PARALLELISM: positiveInt('VEDA_CHUNK_PARALLELISM'),
  VEDA_HEARTBEAT_MS: positiveInt('VEDA_HEARTBEAT_MS'),
  VEDA_COMPUTE_THREADS: wholeNumber('VEDA_COMPUTE_THREADS'),
  VEDA_BLOCK_CACHE_MB: positiveInt('VEDA_BLOCK_CACHE_MB'),
  VEDA_DIRECT_IO: oneOf('VEDA_DIRECT_IO', ['true', 'false'] as const, (value) => value.toLowerCase()),
  AWS_ENDPOINT_URL_S3: setting,
  AWS_ENDPOINT_URL: setting,
  VEDA_S3_PATH_STYLE: oneOf('VEDA_S3_PATH_STYLE', ['true', 'false'] as const, (value) => value.toLowerCase()),
  AWS_ACCESS_KEY_ID: setting,
  AWS_SECRET_ACCESS_KEY: setting,
  AWS_SESSION_TOKEN: setting,
  AWS_REGION: setting,
  AWS_DEFAULT_REGION: setting,
  VEDA_API_URL: setting.refine((value) => value === undefined || /^https?:\/\/[^/]/i.test(value), {
    error: (issue) => `VEDA_API_URL must be an http(s) URL, got "${String(issue.input)}"`,
  }),
  VEDA_TOKEN: setting,
});

type Env = z.output<typeof envSchema>;

/** Reads and checks the environment; a bad value is an Error naming the variable and what it takes. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): VedaConfig {
  const parsed = envSchema.safeParse(environment);
  if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => issue.message).join('; '));
  const env = parsed.data;
  const tls = {
    clientCertPath: env.TEMPORAL_TLS_CLIENT_CERT_PATH,
    clientKeyPath: env.TEMPORAL_TLS_CLIENT_KEY_PATH,
    serverCaCertPath: env.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
    serverName: env.TEMPORAL_TLS_SERVER_NAME,
  };
  const wantsTls = env.TEMPORAL_TLS === 'true' || Object.values(tls).some((v) => v !== undefined);
  const cores = Math.max(1, os.availableParallelism());
  return {
    logLevel: env.VEDA_LOG_LEVEL ?? 'WARN',
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE ?? 'default',
      taskQueue: env.VEDA_TASK_QUEUE ?? 'veda',
      apiKey: env.TEMPORAL_API_KEY,
      tls: wantsTls ? tls : undefined,
      cliPath: env.TEMPORAL_CLI_PATH,
      uiUrl: env.TEMPORAL_UI_URL,
    },
    databaseUrl: env.DATABASE_URL,
    dataDir: path.resolve(env.VEDA_DATA_DIR ?? path.join(os.homedir(), '.veda')),
    store: storeLocation(env.VEDA_STORE),
    s3: s3Settings(env),
    directIo: env.VEDA_DIRECT_IO !== 'false',
    user: env.VEDA_USER ?? safeUsername(),
    worker: {
      maxConcurrentActivities: env.VEDA_WORKER_ACTIVITIES ?? cores * 2,
      chunkParallelism: env.VEDA_CHUNK_PARALLELISM ?? cores * 2,
      ...(env.VEDA_HEARTBEAT_MS ? { heartbeatMs: env.VEDA_HEARTBEAT_MS } : {}),
      ...(env.VEDA_COMPUTE_THREADS !== undefined ? { computeThreads: env.VEDA_COMPUTE_THREADS } : {}),
      ...(env.VEDA_BLOCK_CACHE_MB !== undefined ? { blockCacheMb: env.VEDA_BLOCK_CACHE_MB } : {}),
    },
    ...(env.VEDA_API_URL ? { api: { url: env.VEDA_API_URL, token: env.VEDA_TOKEN } } : {}),
  };
}

/** An s3:// URI as given; anything else is a directory, resolved against the working directory. */
function storeLocation(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return schemeOf(value) !== undefined ? value : path.resolve(value);
}

function s3Settings(env: Env): S3Settings {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  return {
    // S3-compatible servers rarely care about the region, but the SDK needs one.
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (endpoint ? 'us-east-1' : undefined),
    endpoint,
    // Servers other than AWS mostly need path-style addressing (no bucket-name DNS).
    forcePathStyle: env.VEDA_S3_PATH_STYLE === undefined ? endpoint !== undefined : env.VEDA_S3_PATH_STYLE === 'true',
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
