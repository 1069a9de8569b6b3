import { setTimeout as sleep } from 'node:timers/promises';
import type { EnhanceResult, RunStatus } from '../contracts/enhance';
import { Progress, StageTransition } from '../contracts/progress';
import { type ApiClient, CliError, EXIT, type Output } from './client';
import { sseMessages } from './sse';

/** What GET /api/v1/runs/{id} answers; `progress` appears while a run that reports stages is running. */
export interface RunBody {
  status: RunStatus;
  run: { workflow_id: string; run_id?: string };
  result?: EnhanceResult & Record<string, unknown>;
  error?: { code: string; message: string };
  progress?: Progress;
}

/** What a watch tells as the run goes: the stage history so far (it only grows) and, when known, the whole snapshot. */
export interface RunObserver {
  progress(history: readonly StageTransition[], snapshot?: Progress): void;
  /** The run has ended: its final state. */
  end(body: RunBody): void;
}

export interface WatchOptions {
  /** Between polls, once the event stream has broken. */
  pollMs?: number;
  /** The server sends a comment every 15 s: a stream silent this long is taken as broken. */
  idleMs?: number;
}

const runPath = (id: string) => `/api/v1/runs/${encodeURIComponent(id)}`;

/**
 * Follows the run's event stream (GET /api/v1/runs/{id}/events) to its `end`. False when the stream broke first.
 * A refusal (404: no such run of the tenant, 401) is thrown: polling would be refused the same way.
 */
async function followStream(client: ApiClient, id: string, observer: RunObserver, idleMs: number): Promise<boolean> {
  const abort = new AbortController();
  let idle = setTimeout(() => abort.abort(), idleMs);
  const history: StageTransition[] = [];
  try {
    const body = await client.stream(`${runPath(id)}/events`, abort.signal);
    for await (const message of sseMessages(body)) {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(), idleMs);
      if (message.event === 'stage') {
        history.push(StageTransition.parse(JSON.parse(message.data)));
        observer.progress(history);
      } else if (message.event === 'progress') {
        observer.progress(history, Progress.parse(JSON.parse(message.data)));
      } else if (message.event === 'end') {
        return true;
      }
    }
    return false;
  } catch (err) {
    if (err instanceof CliError && err.exitCode === EXIT.rejected) throw err;
    return false;
  } finally {
    clearTimeout(idle);
    abort.abort();
  }
}

/**
 * Follows the run until it ends and resolves with its final GET /api/v1/runs/{id} body, telling `observer` each
 * stage as it happens. Live through the event stream; should the stream break, by polling the run instead.
 */
export async function watchRun(
  client: ApiClient,
  id: string,
  observer: RunObserver,
  opts: WatchOptions = {},
): Promise<RunBody> {
  const streamed = await followStream(client, id, observer, opts.idleMs ?? 45_000);
  for (;;) {
    const { body } = await client.get<RunBody>(runPath(id));
    if (body.progress) observer.progress(body.progress.history, body.progress);
    if (body.status !== 'running') {
      observer.end(body);
      return body;
    }
    // An ended stream means an ended run; until the GET sees it too, a short wait.
    await sleep(streamed ? 100 : (opts.pollMs ?? 500));
  }
}

/**
 * Prints each stage once, in order, on stderr with the time since the run was queued (workflow time), and a batch's
 * done/total as it grows. With --json each is one JSON object per line (NDJSON), for scripts reading stderr.
 */
export function progressPrinter(out: Output, workflowId: string): RunObserver {
  let printed = 0;
  let batchDone = -1;
  let lastStage: string | undefined;
  const line = (fields: Record<string, unknown>, text: string) =>
    out.note(out.json ? JSON.stringify({ workflow_id: workflowId, ...fields }) : text);
  return {
    progress(history, snapshot) {
      const start = history[0] ? Date.parse(history[0].at) : 0;
      for (const transition of history.slice(printed)) {
        const elapsed = (Date.parse(transition.at) - start) / 1000;
        const detail = transition.detail ? `: ${transition.detail}` : '';
        line(
          { event: 'stage', ...transition, elapsed_s: elapsed },
          `[${elapsed.toFixed(1).padStart(6)}s] ${workflowId} ${transition.stage}${detail}`,
        );
        lastStage = transition.stage;
      }
      printed = Math.max(printed, history.length);
      if (snapshot?.kind === 'batch' && snapshot.done !== batchDone) {
        batchDone = snapshot.done;
        const { done, total, succeeded, failed } = snapshot;
        line(
          { event: 'batch', done, total, succeeded, failed },
          `${workflowId} ${done}/${total} done (${succeeded} completed, ${failed} failed)`,
        );
      }
    },
    end(body) {
      // Runs that report no stages, or end in a way no stage names (terminated, timed out): the status says it.
      if (out.json || body.status !== lastStage)
        line({ event: 'end', status: body.status }, `${workflowId} ${body.status}`);
    },
  };
}

export function describeResult(result: EnhanceResult): string {
  const m = result.metadata;
  return `${result.function_name} v${result.version}: safety ${m.safety_level}, cache ${m.cache}, provider ${m.provider}, ${m.optimizations.length} optimizations`;
}

/** Prints a run that has ended and fails the command unless it completed. */
export function finishRun(out: Output, body: RunBody): void {
  if (out.json) out.out(JSON.stringify(body, null, 2));
  if (body.status === 'completed' && body.result) {
    if (!out.json) out.out(body.result.metadata ? describeResult(body.result) : JSON.stringify(body.result));
    return;
  }
  throw new CliError(
    `run ${body.run.workflow_id} ${body.status}${body.error ? `: ${body.error.code}: ${body.error.message}` : ''}`,
    EXIT.runFailed,
    body,
  );
}

/** Follows a run with its stages on stderr, then prints how it ended; exit 0 only when it completed. */
export async function followRun(client: ApiClient, out: Output, id: string): Promise<void> {
  finishRun(out, await watchRun(client, id, progressPrinter(out, id)));
}
