/**
 * Connections to a configured Temporal server: local dev server, self-hosted cluster (mTLS) or Temporal Cloud
 * (API key or mTLS). The only difference between one machine and many is this configuration.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { clientSdk } from './client-sdk.js';
// A type only: clients never load the worker SDK (its native bridge costs half a second at start).
import type { NativeConnection } from '@temporalio/worker';
import type { TemporalSettings } from '../config/config.js';
import { SetupError } from '../domain/errors.js';

/** The fields both the client's Connection and the worker's NativeConnection accept. */
interface SharedOptions {
  address: string;
  apiKey?: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
}

export function connectionOptions(settings: TemporalSettings & { address: string }): SharedOptions {
  const { tls } = settings;
  const read = (file?: string) => (file ? readFileSync(file) : undefined);
  const clientCert = read(tls?.clientCertPath);
  const clientKey = read(tls?.clientKeyPath);
  const useTls = tls !== undefined || settings.apiKey !== undefined;
  return {
    address: settings.address,
    apiKey: settings.apiKey,
    tls: useTls
      ? {
          serverNameOverride: tls?.serverName,
          serverRootCACertificate: read(tls?.serverCaCertPath),
          clientCertPair: clientCert && clientKey ? { crt: clientCert, key: clientKey } : undefined,
        }
      : undefined,
  };
}

/** A client whose connection opens on first use, so commands that never start a workflow never dial Temporal. */
export function lazyClient(settings: TemporalSettings & { address: string }): Client {
  const { Client, Connection } = clientSdk();
  return new Client({ connection: Connection.lazy(connectionOptions(settings)), namespace: settings.namespace });
}

export async function connectClient(settings: TemporalSettings & { address: string }): Promise<Client> {
  const { Client, Connection } = clientSdk();
  const connection = await Connection.connect(connectionOptions(settings)).catch((err: unknown) => unreachable(settings, err));
  return new Client({ connection, namespace: settings.namespace });
}

export async function connectWorkerConnection(settings: TemporalSettings & { address: string }): Promise<NativeConnection> {
  const { NativeConnection } = await import('@temporalio/worker');
  return NativeConnection.connect(connectionOptions(settings)).catch((err: unknown) => unreachable(settings, err));
}

/**
 * A server that does not answer, said so that a user can act (the SDKs say "Failed to connect before the deadline"
 * or print a Rust transport error).
 */
function unreachable({ address }: { address: string }, err: unknown): never {
  throw new SetupError(
    `cannot reach the Temporal server at ${address}: ${(err as Error).message}. Start it, or set TEMPORAL_ADDRESS to ` +
      "a running server's address (with TEMPORAL_ADDRESS unset, `veda dev` starts a local server)",
    { cause: err },
  );
}
