/**
 * A plain `temporal server start-dev`, started the way a user would (no veda search attributes, nothing veda
 * configures), on free ports: what "a Temporal server veda did not start" looks like.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { findTemporalCli } from '../../temporal/cli-binary.js';
import { freePort, startBackground, type Background } from './processes.js';

export interface PlainTemporal {
  address: string;
  /** Custom search attributes the server lists on `default`. */
  customAttributes(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startPlainTemporal(): Promise<PlainTemporal> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'veda-plain-temporal-'));
  let server: Background | undefined;
  let connection: Connection | undefined;
  try {
    server = await startBackground(
      findTemporalCli(),
      ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', path.join(dir, 'db.sqlite')],
      process.env,
      async () => {
        connection ??= await Connection.connect({ address, connectTimeout: 1000 });
        await connection.workflowService.getSystemInfo({});
        return true;
      },
    );
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const conn = connection!;
  const running = server;
  return {
    address,
    async customAttributes() {
      const { customAttributes } = await conn.operatorService.listSearchAttributes({ namespace: 'default' });
      return Object.keys(customAttributes ?? {}).sort();
    },
    async stop() {
      await conn.close();
      await running.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
