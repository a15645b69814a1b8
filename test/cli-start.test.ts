/**
 * The `veda` command starts at once because each command loads only what it needs: these tests fail when a static
 * import pulls a heavy module (the Temporal worker SDK, the TIFF readers, sharp, h5wasm) into commands that never
 * use it. Counted in modules loaded, not in seconds, so a busy machine cannot make them pass or fail.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const HOOKS = path.resolve('test/support/package-trace.mjs');
const HEAVY = ['@temporalio/worker', 'geotiff', 'sharp', 'h5wasm', 'proj4', 'polygon-clipping', 'cli-progress'];

describe('veda command start-up', () => {
  let dir: string;
  let n = 0;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'veda-cli-start-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `veda ARGS` on an embedded catalog in `dir`; returns its stdout and the npm packages it loaded. */
  async function veda(...args: string[]): Promise<{ stdout: string; packages: string[] }> {
    const trace = path.join(dir, `trace-${n++}.txt`);
    const env = { ...process.env, VEDA_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: '', TEMPORAL_ADDRESS: '', VEDA_TEST_PACKAGE_TRACE: trace };
    const { stdout } = await run(process.execPath, ['--import', HOOKS, 'bin/veda.js', ...args], { env });
    const packages = (await readFile(trace, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    return { stdout, packages };
  }

  it('--help and --version load nothing but commander', async () => {
    const help = await veda('--help');
    expect(help.stdout).toContain('Usage: veda');
    expect(help.packages).toEqual(['commander']);
    const version = await veda('--version');
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(version.packages).toEqual(['commander']);
  });

  it('show loads the catalog, not Temporal, the AWS SDK, imagery, previews or HDF5', async () => {
    const created = await veda('create', '--name', 'start', '--ml-type', 'classification', '--tile-size', '8', '--classes', 'a', '--json');
    const { id } = JSON.parse(created.stdout) as { id: string };
    const show = await veda('show', id, '--json');
    expect((JSON.parse(show.stdout) as { id: string }).id).toBe(id);
    expect(show.packages).toContain('@electric-sql/pglite');
    // Reading a dataset's document needs neither Temporal (the SDK loads when a command starts or follows a run)
    // nor S3 (loaded when a store or an input is in S3).
    const notForShow = [...HEAVY, '@temporalio/client', '@temporalio/proto', '@aws-sdk/client-s3', '@aws-sdk/lib-storage'];
    expect(show.packages.filter((p) => notForShow.includes(p))).toEqual([]);
  });
});
