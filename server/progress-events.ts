/**
 * A run's progress as server-sent events: each distinct answer of the workflow's `progress` query (the same stream
 * `run.progress()` gives a direct client, `warning` included while no worker polls), then `end` with the final
 * status, or `error` with the run's failure (`{ error: { kind, message } }`, CancelledError for a cancelled run).
 * Comments keep an idle connection open through proxies; the stream stops when the client goes away.
 */
import type { FastifyReply } from 'fastify';
import type { WorkflowRun } from '../client/workflow-run.js';
import { errorAnswer } from './errors.js';

const KEEPALIVE_MS = 15_000;

export async function streamProgress(reply: FastifyReply, run: WorkflowRun, intervalMs?: number): Promise<void> {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const send = (event: string, data: unknown) => out.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  // The client went away: stop asking the workflow.
  const gone = new AbortController();
  out.on('close', () => gone.abort());
  const keepalive = setInterval(() => out.write(': waiting\n\n'), KEEPALIVE_MS);
  try {
    for await (const p of run.progress({ intervalMs, signal: gone.signal })) send('progress', p);
    if (!gone.signal.aborted) send('end', { workflowId: run.workflowId, status: await run.status() });
  } catch (err) {
    if (!gone.signal.aborted) send('error', errorAnswer(err).body);
  } finally {
    clearInterval(keepalive);
    out.end();
  }
}
