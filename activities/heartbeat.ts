import { Context } from '@temporalio/activity';

/** A third of the activities' heartbeat timeout (15 s, workflows/retry-policy.ts). */
const TICK_MS = 5000;

/**
 * Runs `work` while heartbeating every few seconds, for an activity step that has no progress of its own to report
 * but may outlast the heartbeat timeout: hashing a multi-GB image for the manifest, reading a whole label file of a
 * million polygons. Temporal times an activity out when no heartbeat arrives within the timeout, from its start,
 * however alive it is. The ticks carry no details, so not for activities that resume from theirs (the chunks).
 */
export async function whileHeartbeating<T>(work: () => Promise<T>, everyMs = TICK_MS): Promise<T> {
  const ctx = Context.current();
  const ticker = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(ticker);
  }
}
