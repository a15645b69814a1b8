/**
 * A large run, measured: `npm run bench:large` (100,000 windows; `-- --windows N`, `-- --json`). One ingest
 * (plan, label, post, cache) and one batch of every datapoint, through a local Temporal dev server, PostgreSQL
 * (DATABASE_URL, else a fresh database on 127.0.0.1:5432, dropped afterwards) and a `veda worker` child process.
 *
 * Reports per run the history length (Temporal's limits: 51,200 events, 50 MB), the worker's peak resident memory
 * (VmHWM of its process), the wall time of each stage, and whether progress stayed exact throughout: every answer
 * of the `progress` query within 0 <= done <= total, `done` never falling within a stage, and the final counts
 * equal to the plan.
 */
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../config/config.js';
import { Veda } from '../client/veda.js';
import type { WorkflowRun } from '../client/workflow-run.js';
import { installQuietRuntime } from '../temporal/runtime.js';
import type { Progress } from '../workflows/progress.js';
import { OLINDA } from './fixtures.js';
import { startWorkerStack } from './worker-stack.js';

const HISTORY_EVENT_LIMIT = 51_200;

interface RunReport {
  workflowId: string;
  seconds: number;
  historyEvents: number;
  historyBytes: number;
  progressAnswers: number;
  progressViolations: string[];
}

/** Follows a run to its end, checking every progress answer; returns the final progress and what was wrong. */
async function follow(run: WorkflowRun, log: (line: string) => void): Promise<{ final: Progress; answers: number; violations: string[] }> {
  const violations: string[] = [];
  let answers = 0;
  let last: Progress | null = null;
  let lastLog = 0;
  for await (const p of run.progress({ intervalMs: 1000 })) {
    answers++;
    if (p.done < 0 || p.done > p.total) violations.push(`${p.stage}: done ${p.done} of ${p.total}`);
    if (last && last.stage === p.stage && p.done < last.done) violations.push(`${p.stage}: done fell from ${last.done} to ${p.done}`);
    if (Date.now() - lastLog > 15_000) {
      log(`${run.workflowId}: ${p.stage} ${p.done}/${p.total}, cached ${p.percentCached}%`);
      lastLog = Date.now();
    }
    last = p;
  }
  return { final: last!, answers, violations };
}

async function historyOf(client: Client, workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  return { events: events.length, bytes: JSON.stringify(history).length };
}

async function main(): Promise<void> {
  let values: { windows: string; json: boolean };
  try {
    ({ values } = parseArgs({ options: { windows: { type: 'string', default: '100000' }, json: { type: 'boolean', default: false } } }));
  } catch (err) {
    console.error(`bench:large: ${(err as Error).message} (options: --windows N, --json)`);
    process.exit(2);
  }
  const windows = Number(values.windows);
  if (!Number.isInteger(windows) || windows < 1) {
    console.error(`bench:large: --windows must be a positive integer, got "${values.windows}"`);
    process.exit(2);
  }
  const log = (line: string) => console.error(`[bench:large] ${line}`);
  const started = Date.now();

  const stack = await startWorkerStack('bench-large');
  const config = loadConfig(stack.env);
  installQuietRuntime(config.logLevel);
  const veda = await Veda.connect(config);
  const client = veda.temporal;
  const services = veda.services;

  try {
    const coll = await veda.create({ name: 'large', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
    const plan = { train: Math.round(windows * 0.8), test: windows - Math.round(windows * 0.8) };
    const runs: RunReport[] = [];
    const measure = async (run: WorkflowRun) => {
      const t0 = Date.now();
      const { final, answers, violations } = await follow(run, log);
      const seconds = (Date.now() - t0) / 1000;
      const history = await historyOf(client, run.workflowId);
      runs.push({ workflowId: run.workflowId, seconds, historyEvents: history.events, historyBytes: history.bytes, progressAnswers: answers, progressViolations: violations });
      log(`${run.workflowId}: ${final.stage} in ${seconds.toFixed(0)} s, ${history.events} history events`);
      return final;
    };

    log(`ingest + cache of ${windows} windows`);
    const ingested = await measure(await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: plan, seed: 1 }));
    const counts = await services.catalog.counts(coll.id);
    const exact = ingested.total === windows && counts.total === windows && counts.cached === windows &&
      counts.groups.train === plan.train && counts.groups.test === plan.test;

    log(`batch of ${windows} samples`);
    const batch = await measure(await coll.startBatch({ seed: 1 }));
    const batchExact = batch.done === windows;

    const peakRss = await stack.peakRssMiB();
    const report = {
      windows,
      seconds: (Date.now() - started) / 1000,
      workerPeakRssMiB: Math.round(peakRss),
      maxHistoryEvents: Math.max(...runs.map((r) => r.historyEvents)),
      historyEventLimit: HISTORY_EVENT_LIMIT,
      countsExact: exact && batchExact,
      progressExact: runs.every((r) => r.progressViolations.length === 0),
      runs,
    };
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else {
      for (const r of runs) {
        console.log(`${r.workflowId}: ${r.seconds.toFixed(0)} s, ${r.historyEvents} history events (${(r.historyBytes / 1e6).toFixed(1)} MB as JSON), ` +
          `${r.progressAnswers} progress answers, ${r.progressViolations.length ? r.progressViolations.join('; ') : 'progress exact'}`);
      }
      console.log(`${windows} windows: max history ${report.maxHistoryEvents} events of ${HISTORY_EVENT_LIMIT}, worker peak RSS ` +
        `${report.workerPeakRssMiB} MiB, counts ${report.countsExact ? 'exact' : 'WRONG'}, ${report.seconds.toFixed(0)} s in all`);
    }
    if (!report.countsExact || !report.progressExact) process.exitCode = 1;
  } finally {
    await veda.close();
    await stack.stop();
  }
}

main().then(
  () => process.exit(),
  (err) => {
    console.error(`bench:large failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
