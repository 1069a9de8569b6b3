import { setTimeout as sleep } from 'node:timers/promises';
import { Router, type Request, type Response } from 'express';
import { TERMINAL_STAGES, type Progress, type SseEnd } from '../../contracts/progress';
import { BadRequestError } from '../errors';
import { principalOf } from '../principal';
import type { Runs } from '../runs';

const WORKFLOW_ID = /^[A-Za-z0-9_.:-]{1,200}$/;
/** What an EventSource-like client waits before reconnecting (with Last-Event-ID) after the stream breaks. */
const SSE_RETRY_MS = 2_000;

function runIdParam(req: Request<{ id: string }>): string {
  const id = req.params.id;
  if (!WORKFLOW_ID.test(id)) throw new BadRequestError('malformed run id', [{ path: 'id', message: 'letters, digits and _.:- only' }]);
  return id;
}

/** GET <runsPath>/:id for the caller's tenant; the partner API polls its runs through the same handler. */
export function runStatusHandler(runs: Runs) {
  return async (req: Request<{ id: string }>, res: Response) => {
    const id = runIdParam(req);
    const { status, runId, outcome, progress } = await runs.describe(id, principalOf(res).tenantId);
    const run = { workflow_id: id, run_id: runId };
    if (outcome?.status === 'completed') {
      res.json({ status, run, result: outcome.result });
    } else if (outcome) {
      res.json({ status, run, error: { ...outcome.error, run } });
    } else {
      res.json({ status, run, ...(progress ? { progress } : {}) });
    }
  };
}

export interface RunsRouterDeps {
  runs: Runs;
  pollMs: number;
  /** A comment line this often keeps proxies from closing a quiet stream. */
  heartbeatMs: number;
  /** Fires when the API starts draining: open streams end so the process can exit. */
  shutdown?: AbortSignal;
}

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
async function streamEvents(deps: RunsRouterDeps, id: string, tenantId: string, req: Request, res: Response): Promise<void> {
  const { runs } = deps;
  const first = await runs.describe(id, tenantId);
  res.status(200).set({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  res.write(`retry: ${SSE_RETRY_MS}\n\n`);
  let sent = seenTransitions(req);
  const send = (event: string, data: unknown) => res.write(`id: ${sent}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

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
      const end: SseEnd = { status: current.status, run, ...(outcome && outcome.status !== 'completed' ? { error: { ...outcome.error, run } } : {}) };
      send('end', end);
      break;
    }
    emit(current.progress);
    if (Date.now() - lastPing >= deps.heartbeatMs) {
      res.write(': ping\n\n');
      lastPing = Date.now();
    }
    // Terminal stage seen: the run is about to close; look again at once rather than after a poll interval.
    if (!(current.progress && TERMINAL_STAGES.includes(current.progress.stage))) {
      await sleep(deps.pollMs, undefined, { signal: stop }).catch(() => undefined);
    }
    if (stop.aborted) break;
    current = await runs.describe(id, tenantId);
  }
  res.end();
}

export function runsRouter(deps: RunsRouterDeps): Router {
  const { runs } = deps;
  const router = Router();
  router.get('/api/v1/runs/:id', runStatusHandler(runs));

  router.get('/api/v1/runs/:id/events', async (req, res) => {
    await streamEvents(deps, runIdParam(req), principalOf(res).tenantId, req, res);
  });

  router.delete('/api/v1/runs/:id', async (req, res) => {
    const id = runIdParam(req);
    const { status, runId } = await runs.cancel(id, principalOf(res).tenantId);
    const run = { workflow_id: id, run_id: runId };
    if (status === 'running') res.status(202).json({ status: 'canceling', run });
    else res.status(200).json({ status, run });
  });
  return router;
}
