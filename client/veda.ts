/**
 * Veda: the user's entry point. Holds a Temporal client, the catalog and chip store, and who is acting.
 *
 *   const veda = await Veda.connect();
 *   const coll = await veda.create({ name: 'olinda', mlType: 'classification', tileSize: [64, 64], classes });
 *   const run = await coll.ingest({ image, labels, groups: { train: 100, test: 25 }, seed: 7 });
 *   for await (const p of run.progress()) console.log(p.stage, p.done, p.total);
 */
import type { Client } from '@temporalio/client';
import type { z } from 'zod';
import { loadConfig, type VedaConfig } from '../config/config.js';
import type { DatasetRecord, DatasetSearch } from '../domain/catalog/types.js';
import { newCollectionSchema } from '../domain/catalog/validation.js';
import { parseOptions } from '../domain/input-schema.js';
import { InvalidInputError, messageWithCauses, NotFoundError, SetupError } from '../domain/errors.js';
import { openServices, type Services } from '../runtime/services.js';
import { readDevState } from '../runtime/dev-state.js';
import { datasetWorkflowsUrl, lazyClient } from '../temporal/connection.js';
import { registerCommands } from '../temporal/register-search-attributes.js';
import { DATASET_ID, ML_TYPE, STAGE, VEDA_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { VedaCollection } from './collection.js';
import type { DatasetDoc, DocContext } from '../domain/catalog/dataset-doc.js';
import { WorkflowRun } from './workflow-run.js';
import { BatchSchedules } from './schedules.js';
import { WORKFLOW_TYPES, type WorkflowInput, type WorkflowName } from './workflow-types.js';

export interface VedaOptions {
  /** Null when no Temporal server is configured: catalog operations work, workflow operations say how to get one. */
  client: Client | null;
  namespace: string;
  taskQueue: string;
  /** Web UI base address, for links. */
  uiUrl?: string;
  services: Services;
  user: string;
  /** Windows / datapoints per activity, and activities in flight per workflow. */
  chunkSize?: number;
  parallelism?: number;
}

/** `classes` may be left out for binary classification: it is then `['class1']`, as in pyveda's documents. */
export type NewCollection = z.input<typeof newCollectionSchema>;

/** The class of a binary classification dataset created without classes (pyveda's document names it so). */
export const BINARY_CLASSES = ['class1'];

export class Veda {
  private constructor(
    private readonly options: VedaOptions,
    private readonly owned: { close(): Promise<void> } | null,
  ) {}

  /** A Veda over an existing Temporal client and services (the caller keeps ownership of both). */
  static over(options: VedaOptions): Veda {
    return new Veda(options, null);
  }

  /**
   * Connects as configured: TEMPORAL_ADDRESS, else the server of a running `veda dev`; DATABASE_URL, else the
   * embedded catalog under VEDA_DATA_DIR.
   */
  static async connect(config: VedaConfig = loadConfig()): Promise<Veda> {
    let { address, namespace, uiUrl } = config.temporal;
    if (!address) {
      const dev = await readDevState(config.dataDir);
      if (dev) {
        ({ temporalAddress: address, namespace } = dev);
        uiUrl ??= dev.uiUrl;
      }
    }
    const client = address ? lazyClient({ ...config.temporal, address, namespace }) : null;
    const services = await openServices(config);
    const owned = {
      async close() {
        await services.close();
        await client?.connection.close();
      },
    };
    return new Veda(
      { client, namespace, taskQueue: config.temporal.taskQueue, uiUrl, services, user: config.user, parallelism: config.worker.chunkParallelism },
      owned,
    );
  }

  get user(): string {
    return this.options.user;
  }
  get services(): Services {
    return this.options.services;
  }
  /** The Temporal client; throws SetupError (saying how to get a server) when none is configured. */
  get temporal(): Client {
    if (!this.options.client) {
      throw new SetupError('No Temporal server configured: set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE), or run `veda dev` in another terminal.');
    }
    return this.options.client;
  }
  docContext(datasetId: string): DocContext {
    const { uiUrl, namespace } = this.options;
    return { workflowsUrl: uiUrl ? datasetWorkflowsUrl(uiUrl, namespace, datasetId) : undefined };
  }

  /** The same connections, acting as another user. */
  asUser(user: string): Veda {
    return new Veda({ ...this.options, user }, null);
  }

  async create(options: NewCollection): Promise<VedaCollection> {
    const input = parseOptions(newCollectionSchema, options, 'create', 'dataset');
    let classes = input.classes;
    if (classes === undefined) {
      if (input.mlType !== 'classification') throw new InvalidInputError(`a ${input.mlType} dataset needs its classes (class names in label order)`);
      classes = BINARY_CLASSES;
    }
    const record = await this.services.catalog.createDataset({ ...input, classes: [...classes], userId: this.user });
    return new VedaCollection(this, record);
  }

  /** Opens a dataset by id; another user's private dataset is invisible (NotFoundError). */
  async fromId(id: string): Promise<VedaCollection> {
    return new VedaCollection(this, await this.visibleRecord(id));
  }

  async fromDoc(doc: Pick<DatasetDoc, 'id'>): Promise<VedaCollection> {
    return this.fromId(doc.id);
  }

  async search(query: Omit<DatasetSearch, 'viewer'> = {}): Promise<VedaCollection[]> {
    const records = await this.services.catalog.searchDatasets({ ...query, viewer: this.user });
    return records.map((r) => new VedaCollection(this, r));
  }

  /** @internal the record if this user may see it. */
  async visibleRecord(id: string): Promise<DatasetRecord> {
    const record = await this.services.catalog.getDataset(id);
    if (!record || (!record.public && record.userId !== this.user)) throw new NotFoundError(`dataset ${id} not found`);
    return record;
  }

  /** @internal starts a workflow with a readable id (veda-<dataset>-<kind>-<n>) and the dataset's search attributes. */
  async startWorkflow<K extends WorkflowName>(kind: K, record: DatasetRecord, input: WorkflowInput<K>, summary: string): Promise<WorkflowRun> {
    const n = await this.services.catalog.nextRunNumber(record.id, kind);
    const workflowId = `veda-${record.id}-${kind}-${n}`;
    // Typed by kind above (WorkflowInput<K>); Temporal's own typing of args cannot see through a generic K.
    const args: [WorkflowInput<K>] = [{ chunkSize: this.options.chunkSize, parallelism: this.options.parallelism, ...input }];
    await this.temporal.workflow
      .start(WORKFLOW_TYPES[kind], {
        taskQueue: this.options.taskQueue,
        workflowId,
        args,
        typedSearchAttributes: [
          { key: DATASET_ID, value: record.id },
          { key: ML_TYPE, value: record.mlType },
          { key: STAGE, value: 'starting' },
        ],
        staticSummary: `${summary} (dataset ${record.name} ${record.id}, ${record.mlType})`,
        staticDetails: ['Started by `' + this.user + '` with:', '```json', JSON.stringify(input, null, 2), '```'].join('\n'),
        memo: { datasetId: record.id, datasetName: record.name, user: this.user },
      })
      .catch((err: unknown) => {
        throw this.startError(workflowId, err);
      });
    return this.run(workflowId);
  }

  /** A failed start with its cause; a namespace without veda's search attributes says how to register them. */
  private startError(workflowId: string, err: unknown): unknown {
    const message = messageWithCauses(err);
    if (!VEDA_SEARCH_ATTRIBUTES.some((k) => message.includes(k.name))) return err;
    return new SetupError(
      `cannot start workflow ${workflowId}: ${message}. A veda worker registers the search attributes when it starts; ` +
        `or register them once with: ${registerCommands(this.options.namespace)}`,
      { cause: err },
    );
  }

  /** @internal */
  batchSchedules(record: DatasetRecord): BatchSchedules {
    return new BatchSchedules(this.temporal, this.options.taskQueue, record, {
      chunkSize: this.options.chunkSize,
      parallelism: this.options.parallelism,
    });
  }

  /** A handle on a veda workflow by id. */
  run(workflowId: string): WorkflowRun {
    const ui = this.options.uiUrl ? { url: this.options.uiUrl, namespace: this.options.namespace } : undefined;
    return new WorkflowRun(this.temporal, workflowId, ui);
  }

  /** The dataset's workflows that are running now, found through its search attribute. */
  async runningRuns(datasetId: string): Promise<WorkflowRun[]> {
    const runs: WorkflowRun[] = [];
    const query = `${DATASET_ID.name} = "${datasetId}" AND ExecutionStatus = "Running"`;
    for await (const info of this.temporal.workflow.list({ query })) runs.push(this.run(info.workflowId));
    return runs;
  }

  /** The dataset's most recent workflow run (any kind), found through its search attribute. */
  async latestRun(datasetId: string): Promise<WorkflowRun | null> {
    await this.visibleRecord(datasetId); // another user's private dataset has no runs to show
    // Not every visibility store sorts (the dev server's SQLite does not): pick the newest here.
    let latest: { workflowId: string; startTime: Date } | null = null;
    for await (const info of this.temporal.workflow.list({ query: `${DATASET_ID.name} = "${datasetId}"` })) {
      if (!latest || info.startTime > latest.startTime) latest = info;
    }
    return latest ? this.run(latest.workflowId) : null;
  }

  async close(): Promise<void> {
    await this.owned?.close();
  }
}
