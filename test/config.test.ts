/** Configuration from the environment (config/config.ts): defaults, trimming, and a clear error per bad variable. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';

describe('configuration', () => {
  it('takes defaults for unset and blank variables, and trims the rest', () => {
    const config = loadConfig({ TEMPORAL_NAMESPACE: '  ', VEDA_TASK_QUEUE: ' q ', VEDA_DATA_DIR: 'rel/dir', VEDA_WORKER_ACTIVITIES: ' 3 ', VEDA_LOG_LEVEL: 'debug' });
    expect(config.temporal).toMatchObject({ address: undefined, namespace: 'default', taskQueue: 'q', tls: undefined });
    expect(config.dataDir).toBe(path.resolve('rel/dir'));
    expect(config.worker.maxConcurrentActivities).toBe(3);
    expect(config.worker.heartbeatMs).toBeUndefined();
    expect(loadConfig({ VEDA_HEARTBEAT_MS: '100' }).worker.heartbeatMs).toBe(100);
    expect(config.worker.computeThreads).toBeUndefined();
    expect(loadConfig({ VEDA_COMPUTE_THREADS: '0' }).worker.computeThreads).toBe(0);
    expect(loadConfig({ VEDA_COMPUTE_THREADS: '3' }).worker.computeThreads).toBe(3);
    expect(loadConfig({ VEDA_BLOCK_CACHE_MB: '512' }).worker.blockCacheMb).toBe(512);
    expect(config.logLevel).toBe('DEBUG');
    expect(config.store).toBeUndefined();
    expect(config.directIo).toBe(true);
    expect(loadConfig({ VEDA_DIRECT_IO: 'False' }).directIo).toBe(false);
  });

  it('reads S3 and TLS settings', () => {
    const config = loadConfig({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9000', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', VEDA_STORE: 's3://bucket/x', TEMPORAL_TLS_SERVER_NAME: 'tmp' });
    expect(config.s3).toEqual({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    expect(config.store).toBe('s3://bucket/x');
    expect(config.temporal.tls).toMatchObject({ serverName: 'tmp' });
    expect(loadConfig({ AWS_ENDPOINT_URL: 'http://h', VEDA_S3_PATH_STYLE: 'FALSE' }).s3.forcePathStyle).toBe(false);
  });

  it('names the variable and the value it refuses', () => {
    expect(() => loadConfig({ VEDA_WORKER_ACTIVITIES: 'x' })).toThrow('VEDA_WORKER_ACTIVITIES must be a positive integer, got "x"');
    expect(() => loadConfig({ VEDA_CHUNK_PARALLELISM: '0' })).toThrow('VEDA_CHUNK_PARALLELISM must be a positive integer, got "0"');
    expect(() => loadConfig({ VEDA_HEARTBEAT_MS: '0.5' })).toThrow('VEDA_HEARTBEAT_MS must be a positive integer, got "0.5"');
    expect(() => loadConfig({ VEDA_COMPUTE_THREADS: '-1' })).toThrow('VEDA_COMPUTE_THREADS must be a whole number (0 or more), got "-1"');
    expect(() => loadConfig({ VEDA_COMPUTE_THREADS: '1.5' })).toThrow('VEDA_COMPUTE_THREADS must be a whole number (0 or more), got "1.5"');
    expect(() => loadConfig({ VEDA_LOG_LEVEL: 'loud' })).toThrow('VEDA_LOG_LEVEL must be one of ERROR, WARN, INFO, DEBUG, got "loud"');
    expect(() => loadConfig({ VEDA_S3_PATH_STYLE: 'yes' })).toThrow('VEDA_S3_PATH_STYLE must be true or false, got "yes"');
    expect(() => loadConfig({ VEDA_DIRECT_IO: 'off' })).toThrow('VEDA_DIRECT_IO must be true or false, got "off"');
  });
});
