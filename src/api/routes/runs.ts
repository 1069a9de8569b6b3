import { setTimeout as sleep } from 'node:timers/promises';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Runs } from '../../app/runs';
import { RunListBody, RunListQuery } from '../../contracts/dashboard';
import { RunStatusBody } from '../../contracts/http';
import { CancelAccepted, TERMINAL_STAGES, type Progress, type SseEnd } from '../../contracts/progress';
import { RunIdParams } from '../http-input';
import { json, route, text, type RouteDeps } from '../route';

/** What an EventSource-like client waits before reconnecting (with Last-Event-ID) after the stream breaks. */
const SSE_RETRY_MS = 2_000;

/** Last-Event-ID: how many stage transitions the reconnecting client has seen; anything else starts from the beginning. */
function seenTransitions(req: Request): number {
  const header = req.get('last-event-id');
  return header && /^\d{1,6}$/.test(header) ? Number(header) : 0;
}

/**
 * The SSE stream of one run (shapes in contracts/progress.ts): every stage transition so far, then new ones as the
 * `progress` query shows them, a `progress` snapshot after each change, and `end` once the run has ended.
 * Every event's id is the number of transitions sent so far, so a client reconnecting with Last-Event-ID gets only
 * the transitions it missed (history only grows), then the current snapshot.
 */
async function streamEvents(
  runs: Runs,
  deps: RouteDeps,
  id: string,
  tenantId: string,
  req: Request,
  res: Response,
): Promise<void> {
  const first = await runs.describe(id, tenantId);
  res.status(200).set({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  res.write(`retry: ${SSE_RETRY_MS}\n\n`);
  let sent = seenTransitions(req);
  const send = (event: string, data: unknown) =>
    res.write(`id: ${sent}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

  const gone = new AbortController();
  res.on('close', () => gone.abort());
  const stop = AbortSignal.any([gone.signal, ...(deps.shutdown ? [deps.shutdown] : [])]);
  let lastSnapshot = '';
  let lastPing = Date.now();
  const emit = (progress: Progress | undefined) => {
    if (!progress) return;
    for (const transition of progress.history.slice(sent)) {
      sent++;
      send('stage', transition);
    }
    const snapshot = JSON.stringify(progress);
    if (snapshot !== lastSnapshot) send('progress', progress);
    lastSnapshot = snapshot;
  };

  let current = first;
  while (!stop.aborted) {
    if (current.status !== 'running') {
      // An ended run still answers its query (a worker replays it): the stream shows the whole story before `end`.
      emit(await runs.progress(id, current.runId));
      const run = { workflow_id: id, run_id: current.runId };
      const outcome = current.outcome;
      const end: SseEnd = {
        status: current.status,
        run,
        ...(outcome && outcome.status !== 'completed' ? { error: { ...outcome.error, run } } : {}),
      };
      send('end', end);
      break;
    }
    emit(current.progress);
    if (Date.now() - lastPing >= deps.config.RUN_EVENTS_HEARTBEAT_MS) {
      res.write(': ping\n\n');
      lastPing = Date.now();
    }
    // Terminal stage seen: the run is about to close; look again at once rather than after a poll interval.
    if (!(current.progress && TERMINAL_STAGES.includes(current.progress.stage))) {
      await sleep(deps.config.RUN_EVENTS_POLL_MS, undefined, { signal: stop }).catch(() => undefined);
    }
    if (stop.aborted) break;
    current = await runs.describe(id, tenantId);
  }
  res.end();
}

export const runsRoutes = [
  route({
    operationId: 'listRuns',
    method: 'GET',
    path: '/api/v1/runs',
    tags: ['enhance'],
    summary: "The caller's most recent runs (Temporal visibility), newest first, with links into the Temporal UI",
    auth: 'api_key',
    role: 'viewer',
    query: RunListQuery,
    responses: { 200: json(RunListBody, 'Recent runs') },
    handler: async ({ query, principal }, deps) => ({
      runs: await deps.app.runs.recent(principal.tenantId, query.limit),
    }),
  }),
  route({
    operationId: 'getRun',
    method: 'GET',
    path: '/api/v1/runs/:id',
    tags: ['enhance'],
    summary:
      "Status, live progress (a rollout's state) and, once ended, result or error of an enhancement, batch or rollout run",
    auth: 'api_key',
    role: 'viewer',
    params: RunIdParams,
    responses: { 200: json(RunStatusBody, 'The run') },
    errors: [404],
    handler: ({ params, principal }, deps) => deps.app.runs.status(params.id, principal.tenantId),
  }),
  route({
    operationId: 'streamRunEvents',
    method: 'GET',
    path: '/api/v1/runs/:id/events',
    tags: ['enhance'],
    summary:
      'Server-Sent Events: `stage` transitions (history first), `progress` snapshots, then `end`; the stream closes when the run ends',
    auth: 'api_key',
    role: 'viewer',
    params: RunIdParams,
    headers: z.object({
      'last-event-id': z.string().optional().meta({
        description: 'The id of the last event seen: the stream resumes after the stage transitions it counts',
      }),
    }),
    responses: { 200: text(['text/event-stream'], 'SSE stream; data lines are JSON (see contracts/progress.ts)') },
    errors: [404],
    handler: ({ params, principal, req, res }, deps) =>
      streamEvents(deps.app.runs, deps, params.id, principal.tenantId, req, res),
  }),
  route({
    operationId: 'cancelRun',
    method: 'DELETE',
    path: '/api/v1/runs/:id',
    tags: ['enhance'],
    summary: 'Cancel a run: the LLM call and validation stop at their next heartbeat; a canceled run stores no version',
    auth: 'api_key',
    role: 'agent',
    params: RunIdParams,
    responses: {
      200: json(CancelAccepted, 'The run had already ended: its status'),
      202: json(CancelAccepted, 'Cancellation requested (`canceling`)'),
    },
    errors: [404],
    handler: async ({ params, principal, res }, deps) => {
      const { status, runId } = await deps.app.runs.cancel(params.id, principal.tenantId);
      const run = { workflow_id: params.id, run_id: runId };
      if (status === 'running') res.status(202).json({ status: 'canceling', run });
      else res.status(200).json({ status, run });
    },
  }),
];
