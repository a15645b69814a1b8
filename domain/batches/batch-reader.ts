import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';

import { InvalidInputError, NotFoundError } from '../errors.js';
import { ML_TYPES } from '../types.js';
import type { MlType } from '../types.js';
import { GroupReader } from './group-reader.js';
import { loadH5 } from './h5.js';
import type { H5File, H5Group } from './h5.js';
import { LAYOUT_VERSION, ROOT_ATTRS } from './layout.js';
import { SampleArray } from './sample-array.js';

/** An open batch file: its attributes and one SampleArray per group. */
export class BatchFile {
  readonly mlType: MlType;
  readonly classes: string[];
  readonly seed: number;
  /** The dataset document the batch was built from. */
  readonly dataset: unknown;
  readonly inputs: unknown;
  readonly layoutVersion: number;
  readonly createdAt: string;
  /** Groups in file order (train, test, ...). */
  readonly groups: Record<string, SampleArray> = {};
  private open = true;

  constructor(
    readonly path: string,
    private readonly file: H5File,
  ) {
    const attribute = (name: string): unknown => {
      const attr = file.attrs[name];
      if (!attr) throw new InvalidInputError(`${path} is not a veda batch file: it has no ${name} attribute`);
      const value = attr.value;
      return typeof value === 'bigint' ? Number(value) : value;
    };
    const json = (name: string): unknown => {
      try {
        return JSON.parse(String(attribute(name)));
      } catch (err) {
        if (err instanceof InvalidInputError) throw err;
        throw new InvalidInputError(`${path}: attribute ${name} is not JSON`);
      }
    };
    this.layoutVersion = Number(attribute(ROOT_ATTRS.layoutVersion));
    if (this.layoutVersion !== LAYOUT_VERSION) {
      throw new InvalidInputError(`${path} has batch layout version ${this.layoutVersion}; this veda reads version ${LAYOUT_VERSION}`);
    }
    const mlType = attribute(ROOT_ATTRS.mlType) as MlType;
    if (!ML_TYPES.includes(mlType)) throw new InvalidInputError(`${path}: unknown ml_type ${JSON.stringify(mlType)}`);
    this.mlType = mlType;
    this.classes = json(ROOT_ATTRS.classes) as string[];
    this.seed = Number(attribute(ROOT_ATTRS.seed));
    this.dataset = json(ROOT_ATTRS.dataset);
    this.inputs = json(ROOT_ATTRS.inputs);
    this.createdAt = String(attribute(ROOT_ATTRS.createdAt));
    for (const name of json(ROOT_ATTRS.groups) as string[]) {
      const group = file.get(name);
      if (!group || (group as { type?: string }).type !== 'Group') {
        throw new InvalidInputError(`${path}: group ${name} is listed but missing`);
      }
      const reader = new GroupReader(path, group as H5Group, name, mlType, this.classes.length, () => this.open);
      this.groups[name] = new SampleArray(reader, this.seed);
    }
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.file.close();
  }
}

/** A BatchFile whose groups are also properties: `batch.train` (unless a group shadows a BatchFile member). */
export type OpenedBatch = BatchFile & { readonly [group: string]: SampleArray };

/** Opens a batch file for reading; pixels and labels are read from the file as samples are asked for. */
export async function openBatch(path: string): Promise<OpenedBatch> {
  const target = resolve(path);
  const fileStat = await stat(target).catch(() => null);
  if (!fileStat?.isFile()) throw new NotFoundError(`batch file ${target} does not exist`);
  const h5 = await loadH5();
  let file: H5File;
  try {
    file = new h5.File(target, 'r');
  } catch {
    throw new InvalidInputError(`${target} is not an HDF5 file`);
  }
  let batch: BatchFile;
  try {
    batch = new BatchFile(target, file);
  } catch (err) {
    file.close();
    throw err;
  }
  for (const [name, samples] of Object.entries(batch.groups)) {
    if (!(name in batch)) Object.defineProperty(batch, name, { value: samples, enumerable: false });
  }
  return batch as OpenedBatch;
}
