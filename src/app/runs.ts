import {
  WithStartWorkflowOperation,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import type { EnhanceResult, RunRef, RunStatus } from '../contracts/enhance';
import type { ActivateResult, RegenerateResult } from '../contracts/feedback';
import type { ErrorClass } from '../contracts/error-classes';
import type { ErrorBody } from '../contracts/errors';
import type { BatchResult, Progress } from '../contracts/progress';
import type { RolloutState } from '../contracts/rollouts';
import type { RunSummary } from '../contracts/dashboard';
import type { RunStatusBody } from '../contracts/http';
import { enhanceResultUpdate, progressQuery, rolloutQuery } from '../definitions/messages';
import { classifyRunFailure } from '../definitions/run-failures';
import { CacheOutcomeKey, DomainKey, FunctionNameKey } from '../definitions/search-attributes';
import { WORKFLOW_TYPES } from '../definitions/workflow-types';
import type { enhanceFunction } from '../workflows/enhance';
import { NotFoundError, RunFailedError } from './errors';

export type RunError = ErrorBody['error'];
export type RunResult = EnhanceResult | RegenerateResult | ActivateResult | BatchResult | RolloutState;
export type RunOutcome<T = RunResult> =
  | { status: 'completed'; result: T }
  | { status: Exclude<RunStatus, 'completed' | 'running'>; error: RunError };

/** A workflow as the API waits on it: only its result type matters here. */
// biome-ignore lint/suspicious/noExplicitAny: any arguments: only the result type is read
export type WorkflowReturning<T> = (...args: any[]) => Promise<T>;

/** Workflow types whose runs DELETE /api/v1/runs/{id} cancels. */
const CANCELED_TYPES: ReadonlySet<string> = new Set([
  WORKFLOW_TYPES.enhance,
  WORKFLOW_TYPES.regenerate,
  WORKFLOW_TYPES.activate,
  WORKFLOW_TYPES.batch,
]);
/** Workflow types whose runs GET /api/v1/runs/{id} shows: a rollout too, which only operators end (its own routes). */
const SHOWN_TYPES: ReadonlySet<string> = new Set([...CANCELED_TYPES, WORKFLOW_TYPES.rollout]);
/** A progress query is answered by a worker; one that takes longer than this is left out of the answer. */
const QUERY_DEADLINE_MS = 5_000;

export function runError(err: unknown, workflowId: string): RunError {
  const failure = classifyRunFailure(err);
  const message =
    failure.code === 'enhancement_failed'
      ? 'the enhancement run failed; see its history in the Temporal UI'
      : rootCauseMessage(err);
  return { ...failure, message, run: { workflow_id: workflowId } };
}

/** The innermost failure's message: activity and workflow failures only wrap it. */
function rootCauseMessage(err: unknown): string {
  let current = err instanceof Error ? err : undefined;
  while (current?.cause instanceof Error) current = current.cause;
  return current?.message ?? String(err);
}

/** Runs ended from outside: a cancel is someone's choice, a termination an operator's, a timeout a fault of ours. */
const ENDED_WITHOUT_OUTCOME: Record<'canceled' | 'terminated' | 'timed_out', ErrorClass> = {
  canceled: { category: 'input', severity: 'info' },
  terminated: { category: 'system', severity: 'warning' },
  timed_out: { category: 'system', severity: 'error' },
};

export const STATUS: Record<string, RunStatus> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'canceled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
  CONTINUED_AS_NEW: 'running',
};

export type EnhanceStartOptions = WorkflowStartOptions<typeof enhanceFunction> & {
  workflowIdConflictPolicy: 'USE_EXISTING';
};
type Answered = { run: RunRef; outcome: RunOutcome<EnhanceResult> };
/** A run the caller waited on: finished within the budget with its result, or still going. */
export type Settled<T> = { status: 'completed'; result: T } | { status: 'running'; run: RunRef };

/** Resolves with `work`, or with undefined once `waitMs` pass or `cutShort` fires, whichever comes first. */
async function until<T>(work: Promise<T>, waitMs: number, cutShort?: AbortSignal): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let onCut: (() => void) | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, waitMs, undefined);
    onCut = () => resolve(undefined);
    cutShort?.addEventListener('abort', onCut, { once: true });
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    if (onCut) cutShort?.removeEventListener('abort', onCut);
  }
}

interface RunListOptions {
  tenantId: string;
  taskQueue: string;
  namespace: string;
  limit: number;
  /** Base URL of the Temporal UI; absent: runs carry no link. */
  uiUrl?: string;
  /** Visibility rows read at most: other tenants' runs on the queue are skipped, not counted. */
  scanLimit?: number;
}

/** The run's history page in the Temporal UI (the UI's own URL scheme). */
function temporalUiUrl(base: string | undefined, namespace: string, workflowId: string, runId: string): string | null {
  if (!base) return null;
  const part = encodeURIComponent;
  return `${base.replace(/\/+$/, '')}/namespaces/${part(namespace)}/workflows/${part(workflowId)}/${part(runId)}/history`;
}

function summary(info: WorkflowExecutionInfo, opts: RunListOptions): RunSummary {
  return {
    workflow_id: info.workflowId,
    run_id: info.runId,
    type: info.type,
    status: STATUS[info.status.name] ?? 'running',
    function_name: info.typedSearchAttributes.get(FunctionNameKey) ?? null,
    domain: info.typedSearchAttributes.get(DomainKey) ?? null,
    cache: info.typedSearchAttributes.get(CacheOutcomeKey) ?? null,
    started_at: info.startTime.toISOString(),
    closed_at: info.closeTime?.toISOString() ?? null,
    temporal_ui_url: temporalUiUrl(opts.uiUrl, opts.namespace, info.workflowId, info.runId),
  };
}

/**
 * The tenant's most recent runs on the service's task queue, newest first, from Temporal's visibility store.
 * The tenant is the run's memo (as GET /api/v1/runs/{id} checks it): runs of other tenants are skipped.
 */
async function listRuns(client: Client, opts: RunListOptions): Promise<RunSummary[]> {
  const scanLimit = opts.scanLimit ?? 1_000;
  const query = `TaskQueue = '${opts.taskQueue.replace(/'/g, "\\'")}'`;
  const runs: RunSummary[] = [];
  let scanned = 0;
  for await (const info of client.workflow.list({ query, pageSize: Math.min(100, scanLimit) })) {
    // Runs started before tenants were recorded in the memo belong to the default tenant.
    if ((info.memo?.tenant_id ?? 'default') === opts.tenantId) runs.push(summary(info, opts));
    if (runs.length >= opts.limit || ++scanned >= scanLimit) break;
  }
  return runs.sort((a, b) => b.started_at.localeCompare(a.started_at));
}

export class Runs {
  /**
   * One update per run and API process, shared by every identical request this process is waiting on: the server
   * caps the updates in flight on one run (ten by default), and callers of one run get one answer anyway.
   * Aborted when its last waiter leaves.
   */
  private readonly answers = new Map<
    string,
    { answered: Promise<Answered>; abort: AbortController; waiters: number }
  >();

  constructor(
    private readonly client: Client,
    private readonly listing: Omit<RunListOptions, 'tenantId' | 'limit'>,
  ) {}

  /** The tenant's most recent runs on the task queue, newest first, with links into the Temporal UI. */
  recent(tenantId: string, limit: number): Promise<RunSummary[]> {
    return listRuns(this.client, { ...this.listing, tenantId, limit });
  }

  /**
   * Starts the run (or joins the identical one running) and waits up to `waitMs` for its answer, through
   * update-with-start: the workflow answers as soon as its result is known (a cache hit from its first workflow
   * task, before the events are published). No outcome when the budget runs out or `cutShort` fires.
   */
  async startAndWait(
    options: EnhanceStartOptions,
    waitMs: number,
    cutShort?: AbortSignal,
  ): Promise<{ run: RunRef; outcome?: RunOutcome<EnhanceResult> }> {
    if (waitMs <= 0 || cutShort?.aborted) return { run: await this.start(options) };
    const id = options.workflowId;
    let shared = this.answers.get(id);
    if (!shared) {
      const abort = new AbortController();
      const answered = this.client.withAbortSignal(abort.signal, () => this.updateWithStart(options));
      const entry = { answered, abort, waiters: 0 };
      shared = entry;
      this.answers.set(id, entry);
      answered.finally(() => this.answers.get(id) === entry && this.answers.delete(id)).catch(() => undefined);
    }
    shared.waiters++;
    try {
      // Out of time: a plain start (USE_EXISTING) names the running run without waiting for it.
      return (await until(shared.answered, waitMs, cutShort)) ?? { run: await this.start(options) };
    } finally {
      if (--shared.waiters === 0) {
        shared.abort.abort();
        if (this.answers.get(id) === shared) this.answers.delete(id);
      }
    }
  }

  private async start(options: EnhanceStartOptions): Promise<RunRef> {
    return {
      workflow_id: options.workflowId,
      run_id: (await this.client.workflow.start<typeof enhanceFunction>(WORKFLOW_TYPES.enhance, options))
        .firstExecutionRunId,
    };
  }

  private async updateWithStart(options: EnhanceStartOptions): Promise<Answered> {
    const update = await this.client.workflow.startUpdateWithStart(enhanceResultUpdate, {
      startWorkflowOperation: new WithStartWorkflowOperation<typeof enhanceFunction>(WORKFLOW_TYPES.enhance, options),
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    // The server names the run in every update-with-start response; the SDK's type allows for plain updates.
    const run = { workflow_id: options.workflowId, run_id: update.workflowRunId! };
    try {
      return { run, outcome: { status: 'completed', result: await update.result() } };
    } catch (err) {
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
      const error = runError(err, options.workflowId);
      // An update the run never answered because the run failed first (it could not read its input): the run's
      // own failure says why.
      return {
        run,
        outcome: {
          status: 'failed',
          error: (error.code === 'enhancement_failed' && (await this.failureOf(run))) || error,
        },
      };
    }
  }

  /** The failure of a run that has failed; undefined while it runs or when it ended otherwise. */
  private async failureOf(run: RunRef): Promise<RunError | undefined> {
    const handle = this.client.workflow.getHandle(run.workflow_id, run.run_id);
    if ((await handle.describe()).status.name !== 'FAILED') return undefined;
    return handle.result().then(
      () => undefined,
      (err: unknown) => (err instanceof WorkflowFailedError ? runError(err, run.workflow_id) : undefined),
    );
  }

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

  /**
   * A started run within the wait budget: its result, or still running (the caller answers with where to poll it);
   * a failed run is a RunFailedError.
   */
  async settle<T extends RunResult>(
    handle: WorkflowHandleWithFirstExecutionRunId<WorkflowReturning<T>>,
    waitMs: number,
    cutShort?: AbortSignal,
  ): Promise<Settled<T>> {
    const run = { workflow_id: handle.workflowId, run_id: handle.firstExecutionRunId };
    const outcome = await this.waitFor(handle, waitMs, cutShort);
    if (!outcome) return { status: 'running', run };
    if (outcome.status === 'completed') return outcome;
    throw new RunFailedError(outcome.error, run);
  }

  /** The tenant's run's description; another tenant's run is as absent as one that never existed. */
  async owned(
    workflowId: string,
    tenantId: string,
    types: ReadonlySet<string> = SHOWN_TYPES,
  ): Promise<WorkflowExecutionDescription> {
    let description;
    try {
      description = await this.client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new NotFoundError('run_not_found', `no run with id ${workflowId}`);
      throw err;
    }
    // Runs started before tenants were recorded in the memo belong to the default tenant.
    const owner = description.memo?.tenant_id ?? 'default';
    if (!types.has(description.type) || owner !== tenantId)
      throw new NotFoundError('run_not_found', `no run with id ${workflowId}`);
    return description;
  }

  /** The run's `progress` query; undefined for workflows without one, runs recorded before it, or when no worker answers in time. */
  progress(workflowId: string, runId: string): Promise<Progress | undefined> {
    return this.ask(workflowId, runId, progressQuery);
  }

  /** The run's answer to `query`; undefined when it has none or no worker answers in time. */
  private async ask<T>(workflowId: string, runId: string, query: QueryDefinition<T>): Promise<T | undefined> {
    try {
      return await this.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
        this.client.workflow.getHandle(workflowId, runId).query(query),
      );
    } catch {
      return undefined;
    }
  }

  /** Requests cancellation of a running run of the tenant; the status it had when asked. */
  async cancel(workflowId: string, tenantId: string): Promise<{ status: RunStatus; runId: string }> {
    const description = await this.owned(workflowId, tenantId, CANCELED_TYPES);
    const status = STATUS[description.status.name] ?? 'running';
    if (status === 'running') await this.client.workflow.getHandle(workflowId, description.runId).cancel();
    return { status, runId: description.runId };
  }

  /** A run as GET /api/v1/runs/{id} shows it: status, live progress, and once ended its result or error. */
  async status(workflowId: string, tenantId: string): Promise<RunStatusBody> {
    const { status, runId, type, outcome, progress } = await this.describe(workflowId, tenantId);
    const run = { workflow_id: workflowId, run_id: runId };
    const rollout = type === WORKFLOW_TYPES.rollout ? await this.ask(workflowId, runId, rolloutQuery) : undefined;
    const head = { status, run, type, ...(rollout ? { rollout } : {}) };
    if (outcome?.status === 'completed') return { ...head, result: outcome.result };
    if (outcome) return { ...head, error: { ...outcome.error, run } };
    return { ...head, ...(progress ? { progress } : {}) };
  }

  async describe(
    workflowId: string,
    tenantId: string,
  ): Promise<{ status: RunStatus; runId: string; type: string; outcome?: RunOutcome; progress?: Progress }> {
    const description = await this.owned(workflowId, tenantId);
    const status = STATUS[description.status.name] ?? 'running';
    const { runId, type } = description;
    if (status === 'running') {
      // A rollout has no stages: its state is the `rollout` query's.
      const progress = type === WORKFLOW_TYPES.rollout ? undefined : await this.progress(workflowId, runId);
      return { status, runId, type, ...(progress ? { progress } : {}) };
    }
    if (status === 'completed' || status === 'failed') {
      const outcome = await this.waitFor(
        this.client.workflow.getHandle<WorkflowReturning<RunResult>>(workflowId, runId),
        10_000,
      );
      return { status, runId, type, ...(outcome ? { outcome } : {}) };
    }
    return {
      status,
      runId,
      type,
      outcome: {
        status,
        error: {
          code: `run_${status}`,
          message: `the run was ${status.replace('_', ' ')}`,
          ...ENDED_WITHOUT_OUTCOME[status],
          run: { workflow_id: workflowId },
        },
      },
    };
  }
}
