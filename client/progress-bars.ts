/**
 * Terminal progress bars for a workflow run (cli-progress), fed by the run's progress stream: one bar per
 * stage (planning/posting, caching, batching).
 */
import cliProgress from 'cli-progress';
import type { Progress } from '../workflows/progress.js';
import type { WorkflowRun } from './workflow-run.js';

const LABELS: Record<string, string> = {
  planning: 'planning windows',
  posting: 'posting datapoints',
  caching: 'caching chips',
  batching: 'writing batch',
};

/** How much is cached, on the bars of the stages that cache (posting stores the chips of the windows it posts). */
function cachedNote(stage: string, p: Progress): string {
  return stage === 'caching' || (stage === 'posting' && p.percentCached > 0) ? `(${p.percentCached}% cached)` : '';
}

/** Follows the run to its end with bars on stderr; returns the final progress (throws if the run failed). */
export async function followWithBars(run: WorkflowRun, title: string): Promise<Progress> {
  const bars = new cliProgress.MultiBar(
    { format: ' {stage} |{bar}| {value}/{total} {extra}', hideCursor: true, clearOnComplete: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  process.stderr.write(`${title}\n`);
  const byStage = new Map<string, cliProgress.SingleBar>();
  let last: Progress | undefined;
  try {
    for await (const p of run.progress()) {
      if (p.warning) {
        bars.log(`veda: ${p.warning}\n`);
        continue;
      }
      last = p;
      const stage = p.stage === 'planning' ? 'posting' : p.stage;
      const label = LABELS[stage];
      if (!label) continue;
      const payload = { stage: label.padEnd(18), extra: cachedNote(stage, p) };
      let bar = byStage.get(stage);
      if (!bar) {
        bar = bars.create(Math.max(p.total, 1), 0, payload);
        byStage.set(stage, bar);
      }
      bar.setTotal(Math.max(p.total, 1));
      bar.update(p.done, payload);
    }
    // Every stage before the final answer is complete; a stage that ran between two polls may have been seen only
    // at its start, so its total comes from the final answer.
    for (const [stage, bar] of byStage) {
      if (stage === last?.stage) continue;
      const total = stage === 'posting' && last?.planned ? last.planned : bar.getTotal();
      bar.setTotal(total);
      bar.update(total, last ? { extra: cachedNote(stage, last) } : {});
    }
  } finally {
    bars.stop();
  }
  if (!last) throw new Error(`workflow ${run.workflowId} reported no progress`);
  return last;
}
