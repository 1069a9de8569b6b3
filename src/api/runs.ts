import {
  ApplicationFailure,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { Response } from 'express';
import type { EnhanceResult, RunStatus } from '../contracts/enhance';
import type { ActivateResult, RegenerateResult } from '../contracts/feedback';
import type { ErrorBody } from '../contracts/errors';
import { FailureType } from '../contracts/errors';
import type { BatchResult, Progress } from '../contracts/progress';
import { progressQuery } from '../workflows/progress';
import { respondRunning } from './enhancement';
import { HttpError, NotFoundError } from './errors';

export type RunError = ErrorBody['error'];
export type RunResult = EnhanceResult | RegenerateResult | ActivateResult | BatchResult;
export type RunOutcome<T = RunResult> =
  | { status: 'completed'; result: T }
  | { status: Exclude<RunStatus, 'completed' | 'running'>; error: RunError };

/** A workflow as the API waits on it: only its result type matters here. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WorkflowReturning<T> = (...args: any[]) => Promise<T>;

/** Workflow types whose runs GET /api/v1/runs/{id} shows. */
const RUN_TYPES = new Set(['enhanceFunction', 'regenerateFromFeedback', 'activateVersion', 'enhanceBatch']);
/** A progress query is answered by a worker; one that takes longer than this is left out of the answer. */
const QUERY_DEADLINE_MS = 5_000;

/** The innermost ApplicationFailure says why a run failed; activity and workflow failures only wrap it. */
function rootCause(err: unknown): Error | undefined {
  let current = err instanceof Error ? err : undefined;
  while (current?.cause instanceof Error) current = current.cause;
  return current;
}

export function runError(err: unknown, workflowId: string): RunError {
  const cause = rootCause(err);
  const run = { workflow_id: workflowId };
  if (cause instanceof ApplicationFailure && cause.type === FailureType.InvalidInput) {
    return { code: 'invalid_input', message: cause.message, run };
  }
  if (cause instanceof ApplicationFailure && cause.type === FailureType.ValidationFailed) {
    return { code: 'validation_failed', message: cause.message, run };
  }
  return { code: 'enhancement_failed', message: 'the enhancement run failed; see its history in the Temporal UI', run };
}

export const STATUS: Record<string, RunStatus> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'canceled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
  CONTINUED_AS_NEW: 'running',
};

export class Runs {
  constructor(private readonly client: Client) {}

  /**
   * Waits up to `waitMs` for the run's outcome; undefined when it is still running then, or once `cutShort`
   * fires (the API draining: the caller gets the run URL instead of a cut connection).
   * The long poll is aborted at the deadline, so abandoned waits hold no connection.
   */
  async waitFor<T extends RunResult>(
    handle: WorkflowHandle<WorkflowReturning<T>>,
    waitMs: number,
    cutShort?: AbortSignal,
  ): Promise<RunOutcome<T> | undefined> {
    if (waitMs <= 0 || cutShort?.aborted) return undefined;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), waitMs);
    const onCut = () => abort.abort();
    cutShort?.addEventListener('abort', onCut, { once: true });
    try {
      const result = await this.client.withAbortSignal(abort.signal, () => handle.result());
      return { status: 'completed', result };
    } catch (err) {
      if (abort.signal.aborted) return undefined;
      if (err instanceof WorkflowFailedError) return { status: 'failed', error: runError(err, handle.workflowId) };
      throw err;
    } finally {
      clearTimeout(timer);
      cutShort?.removeEventListener('abort', onCut);
    }
  }

  /** Answers a started run within the wait budget: 200 with its result, 202 with its run URL, or its error. */
  async answer<T extends RunResult>(
    res: Response,
    handle: WorkflowHandleWithFirstExecutionRunId<WorkflowReturning<T>>,
    waitMs: number,
    cutShort?: AbortSignal,
  ): Promise<void> {
    const run = { workflow_id: handle.workflowId, run_id: handle.firstExecutionRunId };
    const outcome = await this.waitFor(handle, waitMs, cutShort);
    if (!outcome) {
      respondRunning(res, run, '/api/v1/runs');
      return;
    }
    if (outcome.status === 'completed') {
      res.status(200).json(outcome.result);
      return;
    }
    const { code, message } = outcome.error;
    throw new HttpError(code === 'enhancement_failed' ? 502 : 422, code, message, undefined, { run });
  }

  /** The tenant's run's description; another tenant's run is as absent as one that never existed. */
  async owned(workflowId: string, tenantId: string): Promise<WorkflowExecutionDescription> {
    let description;
    try {
      description = await this.client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new NotFoundError('run_not_found', `no run with id ${workflowId}`);
      throw err;
    }
    // Runs started before tenants were recorded in the memo belong to the default tenant.
    const owner = description.memo?.tenant_id ?? 'default';
    if (!RUN_TYPES.has(description.type) || owner !== tenantId) throw new NotFoundError('run_not_found', `no run with id ${workflowId}`);
    return description;
  }

  /** The run's `progress` query; undefined for workflows without one, runs recorded before it, or when no worker answers in time. */
  async progress(workflowId: string, runId: string): Promise<Progress | undefined> {
    try {
      return await this.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => this.client.workflow.getHandle(workflowId, runId).query(progressQuery));
    } catch {
      return undefined;
    }
  }

  /** Requests cancellation of a running run of the tenant; the status it had when asked. */
  async cancel(workflowId: string, tenantId: string): Promise<{ status: RunStatus; runId: string }> {
    const description = await this.owned(workflowId, tenantId);
    const status = STATUS[description.status.name] ?? 'running';
    if (status === 'running') await this.client.workflow.getHandle(workflowId, description.runId).cancel();
    return { status, runId: description.runId };
  }

  async describe(workflowId: string, tenantId: string): Promise<{ status: RunStatus; runId: string; outcome?: RunOutcome; progress?: Progress }> {
    const description = await this.owned(workflowId, tenantId);
    const status = STATUS[description.status.name] ?? 'running';
    if (status === 'running') {
      const progress = await this.progress(workflowId, description.runId);
      return { status, runId: description.runId, ...(progress ? { progress } : {}) };
    }
    if (status === 'completed' || status === 'failed') {
      const outcome = await this.waitFor(this.client.workflow.getHandle<WorkflowReturning<RunResult>>(workflowId, description.runId), 10_000);
      return { status, runId: description.runId, ...(outcome ? { outcome } : {}) };
    }
    return {
      status,
      runId: description.runId,
      outcome: { status, error: { code: `run_${status}`, message: `the run was ${status.replace('_', ' ')}`, run: { workflow_id: workflowId } } },
    };
  }
}
