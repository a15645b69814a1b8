/**
 * A baseline in Python (scripts in bench/py/), kept running for a whole benchmark: it takes a setup job, then one
 * round at a time as JSON lines, and answers each with the seconds the round took, timed inside Python, so
 * process start-up and the pipe never count.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Debian's Python: the only one with GDAL's bindings (osgeo). */
export const GDAL_PYTHON = '/usr/bin/python3';
/** The Python on PATH (pyenv), with h5py and numpy. */
export const H5PY_PYTHON = 'python3';

const scripts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'py');

export class PythonBaseline {
  private readonly stderr: Buffer[] = [];
  private startError: Error | null = null;
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly name: string,
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
  ) {
    child.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk));
    child.on('error', (err) => (this.startError = err));
    child.stdin.on('error', () => undefined); // a Python that died shows up as a missing answer, with its stderr
    this.exited = new Promise((resolve) => child.on('close', resolve));
  }

  /** Starts `script` under `python` and sends it `setup` (paths, options: whatever the script needs first). */
  static async start(python: string, script: string, setup: unknown): Promise<PythonBaseline> {
    // -B: no __pycache__ beside the scripts.
    const child = spawn(python, ['-B', path.join(scripts, script)]);
    const lines: Interface = createInterface({ input: child.stdout });
    const baseline = new PythonBaseline(`${python} ${script}`, child, lines[Symbol.asyncIterator]());
    await baseline.ask(setup);
    return baseline;
  }

  /** Runs one round; resolves to the seconds Python took. */
  async round(job: unknown): Promise<number> {
    return Number(await this.ask(job));
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    await this.exited;
  }

  private async ask(job: unknown): Promise<string> {
    this.child.stdin.write(`${JSON.stringify(job)}\n`);
    const answer = await this.lines.next();
    if (answer.done) {
      const code = await this.exited;
      if (this.startError) throw new Error(`${this.name} could not start: ${this.startError.message}`);
      throw new Error(`${this.name} exited with ${code}: ${Buffer.concat(this.stderr).toString().trim()}`);
    }
    return answer.value;
  }
}
