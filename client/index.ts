/** The package's main entry (`import { Veda } from 'veda'`): the client API, its configuration and error types. */
export { Veda, BINARY_CLASSES, type ApiConnection, type VedaOptions, type NewCollection } from './veda.js';
export type { WorkflowName } from './workflow-types.js';
export type { BatchFile, DatasetInfo, DatasetSchedules, DatasetUpdate, VedaBackend } from './backend.js';
export { VedaCollection, type DatasetPair, type FeedPair, type FeedItem, type FeedWindow, type SaveOptions, type ChipPreview, type ServedLabel } from './collection.js';
export type { FeedOptions } from './fed-pairs.js';
export { openImage, VedaImage, type ImageWindow, type RandomWindowOptions, type GridWindowOptions, type WindowShape } from './image-windows.js';
export type { DetectionTarget, MaskTarget, Target, TargetBox } from '../domain/labels/served-label.js';
export { TemporalRun, type WorkflowRun, type RunProgress } from './workflow-run.js';
export type { IngestOptions } from './ingest-options.js';
export type { BatchOptions } from './batch-options.js';
export type { Progress, Stage, WorkflowKind } from '../workflows/progress.js';
export { loadConfig, type VedaConfig, type TemporalSettings, type WorkerSettings } from '../config/config.js';
export { VedaError, InvalidInputError, NotFoundError, ForbiddenError, SetupError, CancelledError, UnauthorizedError, ConflictError, isVedaError } from '../domain/errors.js';
export { ML_TYPES, DTYPES, type MlType, type Dtype, type PixelWindow, type Label } from '../domain/types.js';
export type { DatasetDoc } from '../domain/catalog/dataset-doc.js';
