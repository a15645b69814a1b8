/**
 * Veda: the user's entry point. It talks to a backend (client/backend.ts): straight to the catalog, the stores
 * and Temporal (operators, single-user setups), or to a veda HTTP service (`Veda.connect({ url, token })`), which
 * needs neither database nor Temporal credentials. The API is the same either way.
 *
 *   const veda = await Veda.connect();
 *   const coll = await veda.create({ name: 'olinda', mlType: 'classification', tileSize: [64, 64], classes });
 *   const run = await coll.ingest({ image, labels, groups: { train: 100, test: 25 }, seed: 7 });
 *   for await (const p of run.progress()) console.log(p.stage, p.done, p.total);
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { loadConfig, type VedaConfig } from '../config/config.js';
import { SetupError } from '../domain/errors.js';
import type { DatasetDoc } from '../domain/catalog/dataset-doc.js';
import type { Services } from '../runtime/services.js';
import type { Progress } from '../workflows/progress.js';
import type { DatasetQuery, NewCollection, VedaBackend } from './backend.js';
import { VedaCollection } from './collection.js';
import { DirectBackend, type VedaOptions } from './direct-backend.js';
import type { WorkflowRun } from './workflow-run.js';

export type { NewCollection } from './backend.js';
export { BINARY_CLASSES, type VedaOptions } from './direct-backend.js';
export type { WorkflowName } from './workflow-types.js';

/** A veda HTTP service (`veda serve`) and the API token that says who you are there. */
export interface ApiConnection {
  url: string;
  token: string;
  /** Where batch files are downloaded when no `out` is given (default: `$VEDA_DATA_DIR/tmp/downloads`). */
  downloadDir?: string;
}

export class Veda {
  private constructor(readonly backend: VedaBackend) {}

  /** A Veda over an existing Temporal client and services (the caller keeps ownership of both). */
  static over(options: VedaOptions): Veda {
    return new Veda(new DirectBackend(options));
  }

  /**
   * Connects to a veda HTTP service (`{ url, token }`, or VEDA_API_URL and VEDA_TOKEN), or else as configured:
   * TEMPORAL_ADDRESS, else the server of a running `veda dev`; DATABASE_URL, else the embedded catalog under
   * VEDA_DATA_DIR.
   */
  static async connect(target: VedaConfig | ApiConnection = loadConfig()): Promise<Veda> {
    const api = 'url' in target ? target : target.api;
    if (api) {
      if (!api.token) throw new SetupError(`VEDA_API_URL is ${api.url} but no VEDA_TOKEN is set: ask the service's operator for a token (veda token create --user NAME)`);
      const downloadDir = 'url' in target ? target.downloadDir : path.join(target.dataDir, 'tmp', 'downloads');
      const { HttpBackend } = await import('./http-backend.js');
      return new Veda(await HttpBackend.connect({ url: api.url, token: api.token, downloadDir }));
    }
    return new Veda(await DirectBackend.connect(target as VedaConfig));
  }

  /** Who is acting: the configured user, or over HTTP the user the token belongs to. */
  get user(): string {
    return this.backend.user;
  }
  /** The catalog and stores (direct connections only). */
  get services(): Services {
    return this.direct('services').services;
  }
  /** The Temporal client (direct connections only); throws SetupError when no Temporal server is configured. */
  get temporal(): Client {
    return this.direct('temporal').temporal;
  }

  /** The same connections, acting as another user (direct connections only: over HTTP the token says who you are). */
  asUser(user: string): Veda {
    return new Veda(this.direct('asUser').acting(user));
  }

  async create(input: NewCollection): Promise<VedaCollection> {
    return new VedaCollection(this.backend, await this.backend.create(input));
  }

  /** Opens a dataset by id; another user's private dataset is invisible (NotFoundError). */
  async fromId(id: string): Promise<VedaCollection> {
    return new VedaCollection(this.backend, await this.backend.dataset(id));
  }

  async fromDoc(doc: Pick<DatasetDoc, 'id'>): Promise<VedaCollection> {
    return this.fromId(doc.id);
  }

  async search(query: DatasetQuery = {}): Promise<VedaCollection[]> {
    return (await this.backend.search(query)).map((info) => new VedaCollection(this.backend, info));
  }

  /** A handle on a veda workflow by id. */
  run(workflowId: string): WorkflowRun {
    return this.backend.run(workflowId);
  }

  /** The dataset's most recent workflow run (any kind). */
  latestRun(datasetId: string): Promise<WorkflowRun | null> {
    return this.backend.latestRun(datasetId);
  }

  /** Copies a finished batch's file to `out` (or where it can be opened: in place, else downloaded); its path. */
  fetchBatch(final: Progress, out?: string): Promise<string> {
    return this.backend.fetchBatch(final, out);
  }

  /** Where a finished batch's file is without copying it: a local path when there is one, and its address. */
  batchLocation(final: Progress): { path: string | null; uri: string } {
    return this.backend.batchLocation(final);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  private direct(what: string): DirectBackend {
    if (this.backend instanceof DirectBackend) return this.backend;
    throw new SetupError(`${what} is for direct connections: this Veda talks to a veda HTTP service, which decides who acts and holds the connections`);
  }
}
