/**
 * Entry of a compute thread (piscina): one TaskContext per thread, so open images and label files are reused by
 * the thread's later tasks. Failures come back as values (task-errors.ts); chip pixels are moved, not copied.
 */
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import type { Raster } from '../domain/types.js';
import { soleBuffer } from '../domain/imagery/index.js';
import {
  TaskContext,
  type LabelWindowsTask,
  type LabelWindowsResult,
  type ReadWindowsTask,
  type StoreWindowsTask,
  type StoredChipShape,
  type TaskContextOptions,
} from './tasks.js';
import { toTaskFailure, type TaskFailure } from './task-errors.js';

const context = new TaskContext(workerData as TaskContextOptions);

async function settle<T>(work: () => Promise<T>): Promise<T | TaskFailure> {
  try {
    return await work();
  } catch (err) {
    return toTaskFailure(err);
  }
}

export function labelWindows(task: LabelWindowsTask): Promise<LabelWindowsResult | TaskFailure> {
  return settle(() => context.labelWindows(task));
}

export async function readWindows(task: ReadWindowsTask): Promise<Raster[] | TaskFailure> {
  const result = await settle(() => context.readWindows(task));
  if (!Array.isArray(result)) return result;
  return move({ [transferableSymbol]: ownBuffers(result), [valueSymbol]: result }) as unknown as Raster[];
}

export function storeWindows(task: StoreWindowsTask): Promise<StoredChipShape[] | TaskFailure> {
  return settle(() => context.storeWindows(task));
}

/** The buffers only these chips use: moving one that a pool shares with other arrays would empty those. */
function ownBuffers(chips: Raster[]): ArrayBuffer[] {
  return [...new Set(chips.map(({ data }) => soleBuffer(data)).filter((b) => b !== undefined))];
}
