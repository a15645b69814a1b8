/**
 * `veda dev` leaves its addresses in <dataDir>/dev.json so other veda processes on the machine (CLI commands, a
 * second worker) find its Temporal server and Web UI without any configuration.
 */
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive } from '../domain/processes.js';

export interface DevState {
  pid: number;
  temporalAddress: string;
  namespace: string;
  uiUrl?: string;
}

const file = (dataDir: string) => path.join(dataDir, 'dev.json');

export async function readDevState(dataDir: string): Promise<DevState | null> {
  try {
    const state = JSON.parse(await readFile(file(dataDir), 'utf8')) as DevState;
    return isProcessAlive(state.pid) ? state : null;
  } catch {
    return null;
  }
}

export async function writeDevState(dataDir: string, state: DevState): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFile(file(dataDir), JSON.stringify(state, null, 2));
}

export async function clearDevState(dataDir: string): Promise<void> {
  await rm(file(dataDir), { force: true });
}
