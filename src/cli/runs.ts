import { setTimeout as sleep } from 'node:timers/promises';
import type { EnhanceResult, RunStatus } from '../contracts/enhance';
import { type ApiClient, CliError, EXIT, type Output } from './client';

/** What GET /api/v1/runs/{id} answers; `progress` appears when the server reports stages. */
export interface RunBody {
  status: RunStatus;
  run: { workflow_id: string; run_id?: string };
  result?: EnhanceResult & Record<string, unknown>;
  error?: { code: string; message: string };
  progress?: { stage?: string };
}

const runPath = (id: string) => `/api/v1/runs/${encodeURIComponent(id)}`;

/**
 * Calls onUpdate with each state of the run until it ends; resolves with the last. It polls GET /api/v1/runs/{id};
 * a server-sent event stream can replace this function alone.
 */
export async function watchRun(client: ApiClient, id: string, onUpdate: (body: RunBody) => void, intervalMs = 500): Promise<RunBody> {
  for (;;) {
    const { body } = await client.get<RunBody>(runPath(id));
    onUpdate(body);
    if (body.status !== 'running') return body;
    await sleep(intervalMs);
  }
}

/** A line on stderr for each change of status or stage, with the time since the watch began. */
export function progressPrinter(out: Output): (body: RunBody) => void {
  const started = Date.now();
  let last = '';
  return (body) => {
    const stage = body.progress?.stage;
    const now = stage && body.status === 'running' ? `${body.status}: ${stage}` : body.status;
    if (now === last) return;
    last = now;
    out.note(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${body.run.workflow_id} ${now}`);
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
  throw new CliError(`run ${body.run.workflow_id} ${body.status}${body.error ? `: ${body.error.code}: ${body.error.message}` : ''}`, EXIT.runFailed, body);
}

/** `poet runs watch <id>`: progress until the run ends; exit 0 when it completed. */
export async function watchCommand(client: ApiClient, out: Output, id: string): Promise<void> {
  finishRun(out, await watchRun(client, id, progressPrinter(out)));
}
