import { Context } from '@temporalio/activity';

/** A third of the activities' heartbeat timeout (15 s, workflows/retry-policy.ts). */
const TICK_MS = 5000;

/**
 * Runs `work` while heartbeating every few seconds, for an activity step that has no progress of its own to report
 * but may outlast the heartbeat timeout: hashing a multi-GB image for the manifest, reading a whole label file of a
 * million polygons, uploading a batch of many GB to S3. Temporal times an activity out when no heartbeat arrives
 * within the timeout, from its start, however alive it is. The ticks carry `details` as they are (by default none),
 * so not for a stage that moves the position an activity resumes from (the chunks').
 */
export async function whileHeartbeating<T>(work: () => Promise<T>, options: { details?: unknown; everyMs?: number } = {}): Promise<T> {
  const ctx = Context.current();
  const { details, everyMs = TICK_MS } = options;
  const ticker = setInterval(() => ctx.heartbeat(details), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(ticker);
  }
}
