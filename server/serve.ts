/**
 * `veda serve`: the HTTP API on a port, over the configured catalog, stores and Temporal server (the same
 * configuration as `veda worker`). Workers run apart (`veda worker`, `veda dev`); the service starts workflows
 * and queries them, it never runs activities.
 */
import type { FastifyInstance } from 'fastify';
import type { VedaConfig } from '../config/config.js';
import { DirectBackend } from '../client/direct-backend.js';
import { buildApi, type ApiLimits } from './app.js';
import { InputPolicy } from './input-policy.js';

export interface ServeOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  publicUrl?: string;
  limits?: ApiLimits;
  logRequests?: boolean;
  /** Directories whose files requests may name as inputs (URLs are always allowed; no local file without one). */
  inputDirs?: string[];
}

export interface RunningApi {
  /** Where it listens, e.g. `http://127.0.0.1:8080`. */
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Serves the API over an existing backend (the caller keeps it open; tests pass their stack's). */
export async function serveApi(backend: DirectBackend, options: ServeOptions = {}): Promise<RunningApi> {
  const app = await buildApi({
    backend,
    tokens: backend.services.catalog.tokens,
    publicUrl: options.publicUrl,
    limits: options.limits,
    logRequests: options.logRequests,
    inputs: await InputPolicy.create(options.inputDirs),
  });
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 8080 });
  const { port } = app.server.address() as { port: number };
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, app, close: () => app.close() };
}

/** Connects as configured and serves; `close()` stops serving and closes the connections. */
export async function startApiServer(config: VedaConfig, options: ServeOptions = {}): Promise<RunningApi> {
  const backend = await DirectBackend.connect(config);
  try {
    void backend.temporal; // a service that cannot start workflows is no service: fail now, saying how to get a server
    const running = await serveApi(backend, options);
    return {
      ...running,
      async close() {
        await running.close();
        await backend.close();
      },
    };
  } catch (err) {
    await backend.close();
    throw err;
  }
}
