/**
 * veda's benchmarks: `npm run bench` (a few minutes on 2 cores), `-- --quick` for a smoke run, `-- --json` for
 * machines, `-- --only reads,e2e` for some of them (reads, labels, pipeline, batches, e2e), `-- --windows N` for the
 * windows of a pipeline or end-to-end round. Every figure is a ratio against a baseline measured in the same run;
 * see bench/README.md.
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchBatchWriting } from './batch-writing.js';
import { benchEndToEnd } from './end-to-end.js';
import { formatTable, type BenchOptions, type Comparison } from './harness.js';
import { benchLabelEncoding } from './label-encoding.js';
import { benchPipeline } from './pipeline.js';
import { benchWindowReads } from './window-reads.js';

const BENCHES = {
  reads: benchWindowReads,
  labels: benchLabelEncoding,
  pipeline: benchPipeline,
  batches: benchBatchWriting,
  e2e: benchEndToEnd,
} satisfies Record<string, (options: BenchOptions) => Promise<Comparison[]>>;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      windows: { type: 'string' },
    },
  });
  const names = values.only ? values.only.split(',') : Object.keys(BENCHES);
  const unknown = names.filter((n) => !(n in BENCHES));
  if (unknown.length) {
    console.error(`unknown bench ${unknown.join(', ')}: choose from ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }

  const windows = values.windows === undefined ? undefined : Number(values.windows);
  if (windows !== undefined && !(Number.isInteger(windows) && windows > 0)) {
    console.error(`--windows takes a positive whole number, got ${values.windows}`);
    process.exit(2);
  }
  const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '.out');
  await mkdir(outDir, { recursive: true });
  const options: BenchOptions = {
    quick: values.quick,
    warmup: 1,
    repeats: values.quick ? 3 : 5,
    outDir,
    log: (line) => console.error(`[bench] ${line}`),
    ...(windows !== undefined ? { windows } : {}),
  };
  const started = Date.now();
  const rows: Comparison[] = [];
  for (const name of names) rows.push(...(await BENCHES[name as keyof typeof BENCHES](options)));
  const machine = { cpus: os.availableParallelism(), node: process.version, date: new Date().toISOString() };
  const seconds = (Date.now() - started) / 1000;
  const { quick, warmup, repeats } = options;
  if (values.json) {
    const report = { machine, quick, warmup, repeats, seconds, rows };
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(formatTable(rows));
  console.log(
    `${machine.date.slice(0, 10)}, ${machine.cpus} cores, Node ${machine.node}, ${quick ? 'quick: ' : ''}${warmup} warm-up + ` +
      `${repeats} timed rounds (pipeline: at most 3; end to end: 3; uncompressed batch writing: five times as many), ` +
      `median rates, ${seconds.toFixed(0)} s`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
