/**
 * An S3-compatible server for the tests: moto's standalone server (PyPI `moto[server]`, which
 * scripts/install-deps.sh --test installs for the default python3), in memory, on a free loopback port. veda
 * talks to it as to any S3 endpoint (AWS_ENDPOINT_URL, path-style); nothing in veda knows it is moto.
 */
import { execFileSync } from 'node:child_process';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../config/config.js';
import type { S3Settings } from '../../domain/storage/index.js';
import { accepts, freePort, startBackground } from './processes.js';

/** `python3 -m moto.server`, or VEDA_TEST_MOTO_SERVER: a `moto_server` executable elsewhere. */
const MOTO = process.env.VEDA_TEST_MOTO_SERVER ? [process.env.VEDA_TEST_MOTO_SERVER] : ['python3', '-m', 'moto.server'];

export interface S3Server {
  endpoint: string;
  /** The standard AWS variables that point a veda process at this server. */
  env: NodeJS.ProcessEnv;
  settings: S3Settings;
  client: S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startS3Server(): Promise<S3Server> {
  if (!process.env.VEDA_TEST_MOTO_SERVER) {
    try {
      execFileSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' });
    } catch {
      throw new Error(`no S3 test server: run \`bash scripts/install-deps.sh --test\` (npm test does), or set VEDA_TEST_MOTO_SERVER to a moto_server`);
    }
  }
  const port = await freePort();
  const [command, ...args] = MOTO as [string, ...string[]];
  const server = await startBackground(command, [...args, '-H', '127.0.0.1', '-p', String(port)], process.env, () => accepts(port), 60_000);
  const endpoint = `http://127.0.0.1:${port}`;
  const env = { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'veda-test', AWS_SECRET_ACCESS_KEY: 'veda-test-secret', AWS_REGION: 'us-east-1' };
  const settings = loadConfig(env).s3;
  const client = new S3Client({ ...settings, region: settings.region!, credentials: settings.credentials! });
  return {
    endpoint,
    env,
    settings,
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}
